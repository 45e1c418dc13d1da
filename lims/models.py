"""Core records: users, teams with roles, hashed API tokens, and the abstract bases every app uses."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from lims.audit import AuditedHistory


def user_label(username: str | None, first_name: str | None, last_name: str | None) -> str | None:
    """How a person is named (``str(user)``): the full name, else the username; None for no person."""
    if username is None:
        return None
    return f"{first_name or ''} {last_name or ''}".strip() or username


class User(AbstractUser):
    """A person, or the service account of an instrument (``is_instrument``)."""

    is_instrument = models.BooleanField(default=False, help_text="service account of an instrument")

    history = AuditedHistory(excluded_fields=["password", "last_login"])

    def __str__(self) -> str:
        return user_label(self.username, self.first_name, self.last_name) or ""


class Role(models.TextChoices):
    VIEWER = "viewer", "viewer"
    RESEARCHER = "researcher", "researcher"
    MANAGER = "manager", "manager"


ROLE_RANK = {Role.VIEWER: 1, Role.RESEARCHER: 2, Role.MANAGER: 3}


class Team(models.Model):
    """A research group. Records that are not shared inventory belong to exactly one team."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    history = AuditedHistory()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RESEARCHER)

    history = AuditedHistory()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class TokenScope(models.TextChoices):
    USER = "user", "personal token (acts as the user)"
    INSTRUMENT = "instrument", "instrument token (uploads and their status only)"


class ApiToken(models.Model):
    """An API token stored as its SHA-256 only; the clear key is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    key_prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=20, choices=TokenScope.choices, default=TokenScope.USER)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = AuditedHistory(excluded_fields=["last_used_at"])

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user: Any, name: str, scope: str = TokenScope.USER) -> tuple[ApiToken, str]:
        """Create a token; returns (token, clear key). The clear key is never stored."""
        key = "lims_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, scope=scope, key_prefix=key[:12], key_hash=cls.hash_key(key)
        )
        return token, key


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class Audited(TimeStamped):
    """Abstract base: timestamps, creator, and the audit trail."""

    history = AuditedHistory(inherit=True)

    class Meta:
        abstract = True


class TeamOwned(Audited):
    """Abstract base of every record a team owns (everything but shared inventory)."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", "photo"
    SEM = "sem", "SEM image"
    CERTIFICATE = "certificate", "certificate of analysis"
    DATA = "data", "data file (peak list, spectrum)"
    OTHER = "other", "other"


class Attachment(Audited):
    """A file attached to any record (photos of a batch, SEM images of a disassembled cell, an XRD peak list).

    Files are stored outside the web root and served only through a view that checks access to the record.
    """

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    file = models.FileField(upload_to="attachments/%Y/%m/")
    kind = models.CharField(max_length=20, choices=AttachmentKind.choices, default=AttachmentKind.OTHER)
    caption = models.CharField(max_length=300, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return self.caption or str(self.file.name)
