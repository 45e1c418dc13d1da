"""Who is asking: hashed API tokens for scripts and instruments (``Authorization: Token <key>`` or ``Bearer <key>``),
and, for the pages, the session and its user.

The three look-ups every request makes (the token with its user; or the session, then the user) run as compiled
queries (lims/compiled.py): the SQL Django writes for them, compiled once per process instead of on every request.
``SessionStore`` (settings.SESSION_ENGINE = "lims.authentication") and ``ModelBackend``
(settings.AUTHENTICATION_BACKENDS) are Django's database session store and model backend with only that look-up
changed. Sessions signed in under Django's own backend path, before this backend was configured, sign in once more.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import backends, get_user_model
from django.contrib.sessions.backends import db as session_db
from django.contrib.sessions.models import Session
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from lims.compiled import CompiledQuery, Statement, run_together
from lims.models import ApiToken
from lims.permissions import remember_roles, roles_column

#: every API request: 1.0 -> 0.35 ms in-process (lims/compiled.py)
#: with the user's team roles in the same statement (lims.permissions.roles_column)
_token_by_hash: CompiledQuery[ApiToken] = CompiledQuery(
    lambda key_hash: (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash)
        .annotate(user_roles=roles_column("user_id"))
    ),
    str,
)
_session_by_key: CompiledQuery[Session] = CompiledQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now), str, datetime.datetime
)
_user_by_pk: CompiledQuery[Any] = CompiledQuery(
    lambda pk: get_user_model()._default_manager.filter(pk=pk).annotate(user_roles=roles_column("pk")), int
)


class SessionStore(session_db.SessionStore):
    """Django's database sessions; the session is read with a compiled query."""

    def _get_session_from_db(self) -> Session | None:
        session = _session_by_key.one(self.session_key, timezone.now())
        if session is None:
            self._session_key = None
        return session


class ModelBackend(backends.ModelBackend):
    """Django's model backend; the signed-in user of a page is read with a compiled query."""

    def get_user(self, user_id: Any) -> Any:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = _user_by_pk.one(pk)
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_roles(user, user.user_roles)
        return user


def token_statement(header: bytes) -> tuple[str, Statement] | None:
    """The hash of the key an ``Authorization: Token <key>`` (or ``Bearer <key>``) header names, and the statement
    that reads its token with the user and their roles (to run alone or with others: ``run_together``); None for
    another scheme; ``AuthenticationFailed`` for a malformed header."""
    parts = header.split()
    if not parts or parts[0].decode(errors="replace").lower() not in HashedTokenAuthentication.keywords:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
    key_hash = ApiToken.hash_key(parts[1].decode(errors="replace"))
    return key_hash, _token_by_hash.statement(key_hash).as_one_row()  # key_hash is unique


def accept_token(found: list[ApiToken], request: Any) -> tuple[Any, ApiToken]:
    """The person and token of what ``token_statement`` read; ``AuthenticationFailed`` for an unknown, revoked
    or inactive one. Notes the token's use (at most once a minute), keeps the user's roles for the request and
    the token on the request for the audit trail (``request`` is Django's, the one DRF wraps)."""
    token = found[0] if len(found) == 1 else None
    if token is None or not token.user.is_active:
        raise exceptions.AuthenticationFailed("Invalid token.")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This token was revoked.")
    remember_roles(token.user, token.user_roles)  # type: ignore[attr-defined]
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    request.lims_token = token
    return token.user, token


def authenticate_token(header: bytes, request: Any) -> tuple[Any, ApiToken] | None:
    """The person and token of an ``Authorization`` header (``token_statement`` and ``accept_token``)."""
    found = token_statement(header)
    if found is None:
        return None
    return accept_token(run_together([found[1]])[0], request)


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        return authenticate_token(authentication.get_authorization_header(request), request._request)

    def authenticate_header(self, request: Any) -> str:
        return "Token"


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "lims.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}
