"""Who is asking: hashed API tokens for scripts and instruments (``Authorization: Token <key>`` or ``Bearer <key>``),
and, for the pages, the session and its user.

The three look-ups every request makes (the token with its user; or the session, then the user) run as compiled
queries (lims/compiled.py): the SQL Django writes for them, compiled once per process instead of on every request.
``SessionStore`` (settings.SESSION_ENGINE = "lims.authentication") and ``ModelBackend``
(settings.AUTHENTICATION_BACKENDS) are Django's database session store and model backend with only that look-up
changed. Sessions signed in under Django's own backend path, before this backend was configured, sign in once more.

A page's session and its user are read in one statement, not one after the other: the user id is inside the
session's signed data, so the process remembers which user each session it has read belonged to
(``_users_of_sessions``, by a hash of the key; also noted when a person signs in) and reads that user with the
session. Django's checks then run
unchanged: ``ModelBackend.get_user`` takes the row read with the session only when it is the user the session
names (``AuthenticationMiddleware`` lets it see the request's session), and otherwise reads the user itself; the
session's hash is verified against that user as before. A session this process has not read yet costs the two
look-ups once.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.contrib import auth
from django.contrib.auth import backends, get_user_model
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends import db as session_db
from django.contrib.sessions.models import Session
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from lims.compiled import CompiledQuery, Statement, run_together
from lims.models import ApiToken
from lims.permissions import keep_roles, remember_roles, roles_column, roles_of

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


#: the user each session this process read belonged to, by the hash of the session key (a guess, checked:
#: ``ModelBackend.get_user``); forgotten all at once when it holds this many
_users_of_sessions: dict[int, int] = {}
_MAX_SESSIONS = 20_000
#: the values of the session data this process decoded, by its signed text (``SessionStore.decode``)
_decoded: dict[bytes | str, dict[str, Any]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: the session of the request whose user is being read (``AuthenticationMiddleware``)
_reading_session: ContextVar[Any] = ContextVar("lims_reading_session", default=None)


class SessionStore(session_db.SessionStore):
    """Django's database sessions; the session is read with a compiled query, and with it the user the session
    belonged to when this process last read it (see the module)."""

    #: (user id, the user read with the session or None) of the last read
    prefetched_user: tuple[int, Any] | None = None
    #: a page's reads to send with the session's (``reads_with_session``): the statements and how to run them
    riders: tuple[list[Statement], Callable[[list[Statement]], list[Any]]] | None = None
    #: the riders' results, when they were sent with the session's read
    rider_results: list[Any] | None = None

    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        guess = _users_of_sessions.get(hash(key))
        if guess is None:
            session = _session_by_key.one(key, timezone.now())
        else:
            riders, run = self.riders if self.riders is not None else ([], run_together)
            sessions, users, *rest = run(
                [
                    _session_by_key.statement(key, timezone.now()).as_one_row(),
                    _user_by_pk.statement(guess).as_one_row(),
                    *riders,
                ]
            )
            if self.riders is not None:
                self.rider_results = rest
            session = sessions[0] if sessions else None
            self.prefetched_user = (guess, users[0] if users and session is not None else None)
        if session is None:
            self._session_key = None
        return session

    def decode(self, session_data: bytes | str) -> dict[str, Any]:
        """Django's ``decode``, remembered by the signed text: verifying the signature and reading the JSON cost
        ~0.1 ms on every page, for a text that changes only when the session does. The same text decodes to the
        same values (the key, salt and serializer are settings: forgotten when one changes); a text that does not
        verify is never remembered, and only data whose values are all plain (text, numbers, None: what signing in
        stores) is, so each request gets a copy of its own to change."""
        known = _decoded.get(session_data)
        if known is not None:
            return dict(known)
        data: dict[str, Any] = super().decode(session_data)
        if data and all(type(value) in _PLAIN for value in data.values()):
            _bounded_put(_decoded, session_data, dict(data))
        return data

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        pk = _user_pk(data.get(auth.SESSION_KEY))
        if pk is not None and self.session_key:
            _remember(self.session_key, pk)
        return data


def _user_pk(user_id: Any) -> int | None:
    """A user id as a session holds it (text), or None when it is not one."""
    try:
        return int(user_id)
    except (TypeError, ValueError):
        return None


def _remember(session_key: str, user_pk: int) -> None:
    _bounded_put(_users_of_sessions, hash(session_key), user_pk)


def _bounded_put(table: dict[Any, Any], key: Any, value: Any) -> None:
    """``table[key] = value``, the table forgotten all at once when it holds ``_MAX_SESSIONS`` entries."""
    if len(table) >= _MAX_SESSIONS:
        table.clear()
    table[key] = value


def install() -> None:
    """Note at sign-in whose a session is (``remember_signed_in``); forget decoded sessions when the key, salt or
    serializer they were decoded with changes (``setting_changed``, in tests)."""
    user_logged_in.connect(remember_signed_in, dispatch_uid="lims.remember_signed_in")
    setting_changed.connect(_forget_decoded, dispatch_uid="lims.forget_decoded_sessions")


def _forget_decoded(setting: str, **kwargs: Any) -> None:
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "SESSION_SERIALIZER", "SESSION_ENGINE"):
        _decoded.clear()


def remember_signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in``: the session just signed in is this user's (the first page after signing in, on the
    process that signed in, reads the session and the user in one statement too)."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key and user is not None and user.pk is not None:
        _remember(key, int(user.pk))


class ModelBackend(backends.ModelBackend):
    """Django's model backend; the signed-in user of a page is read with a compiled query, or was read with the
    session (``SessionStore``)."""

    def get_user(self, user_id: Any) -> Any:
        pk = _user_pk(user_id)
        if pk is None:
            return None
        session = _reading_session.get()
        prefetched = getattr(session, "prefetched_user", None)
        if prefetched is not None and prefetched[0] == pk and prefetched[1] is not None:
            session.prefetched_user = None  # used once
            user = prefetched[1]
        else:
            user = _user_by_pk.one(pk)
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_roles(user, user.user_roles)
        _remember_requester(user)
        return user


def _user_of(request: Any) -> Any:
    """``django.contrib.auth.middleware.get_user`` (the user, once per request), with the request's session
    visible to ``ModelBackend.get_user``."""
    if not hasattr(request, "_cached_user"):
        reading = _reading_session.set(getattr(request, "session", None))
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _reading_session.reset(reading)
    return request._cached_user


#: what each user this process signed in looked like to a page's reads, by user id: (staff, team -> role); a guess,
#: checked (``reads_with_session``); bounded as ``_users_of_sessions`` is (``_bounded_put``)
_requesters: dict[int, tuple[bool, dict[int, str]]] = {}


def _remember_requester(user: Any) -> None:
    _bounded_put(_requesters, int(user.pk), (bool(user.is_staff), dict(roles_of(user))))


class GuessedRequester:
    """Who a page's reads are scoped for before the session's user is read: the user the session belonged to,
    with the staff flag and team roles that user had when this process last read them. Read only by the
    scoping of compiled reads (``is_staff``, ``team_ids_for``)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, pk: int, is_staff: bool, roles: dict[int, str]) -> None:
        self.pk = self.id = pk
        self.is_staff = is_staff
        keep_roles(self, dict(roles))


def read_with_session(
    request: Any,
    build: Callable[[GuessedRequester], list[Statement | None] | None],
    run: Callable[[list[Statement]], list[Any]] = run_together,
) -> list[Any] | None:
    """A page's reads sent in the round trip that reads the request's session and its user (``run`` sends them
    all), scoped for ``GuessedRequester``: the user this process last saw with this session. Their results
    (in the order of ``build``'s statements, ``[]`` for a None) only if the guess held: the session is valid and
    names that user, who signs in with the same staff flag and the same team roles, read in that same round trip.
    None otherwise (a session or user this process has not read yet, another user, changed roles, a session
    already read): the page then reads them itself, after signing in, as without this."""
    store = getattr(request, "session", None)
    if not isinstance(store, SessionStore) or hasattr(request, "_cached_user") or store.riders is not None:
        return None
    if not store.session_key or hasattr(store, "_session_cache"):
        return None
    pk = _users_of_sessions.get(hash(store.session_key))
    known = _requesters.get(pk) if pk is not None else None
    if pk is None or known is None:
        return None
    guess = GuessedRequester(pk, *known)
    statements = build(guess)
    if statements is None:
        return None
    store.riders = ([st for st in statements if st is not None], run)
    store.rider_results = None
    try:
        user = request.user
        signed_in = bool(user.is_authenticated)  # reads the session, the user and the riders
    finally:
        store.riders = None
    results, store.rider_results = store.rider_results, None
    if results is None or not signed_in or user.pk != pk:
        return None
    if bool(user.is_staff) != guess.is_staff or roles_of(user) != roles_of(guess):
        return None
    found = iter(results)
    return [[] if st is None else next(found) for st in statements]


V = TypeVar("V", bound=Callable[..., Any])


def reads_with_session(
    build: Callable[..., list[Statement | None] | None],
    run: Callable[[list[Statement]], list[Any]] = run_together,
) -> Callable[[V], V]:
    """Decorate a page view (outside ``login_required``): ``build(requester, *args, **kwargs)`` gives the page's
    reads; they are sent with the session's (``read_with_session``) and their results, or None, are
    ``request.session_reads`` for the view."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            request.session_reads = read_with_session(
                request, lambda requester: build(requester, *args, **kwargs), run
            )
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with ``request.user`` read by ``_user_of``."""

    def process_request(self, request: Any) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))


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
