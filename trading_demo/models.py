from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from trading_demo.ids import uuid7


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    TRADER = "trader", "Trader"
    VIEWER = "viewer", "Viewer"


class Theme(models.TextChoices):
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        from trading_demo.services import user_create

        return user_create(email=email, password=password, **extra)  # type: ignore[arg-type]

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        from trading_demo.services import user_create

        return user_create(email=email, password=password, role=Role.ADMIN)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email. `role` is the product's notion; the matching Django
    group carries the admin-site permissions and is kept in step by `user_set_role`."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TRADER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.LIGHT)
    toast_min_severity = models.CharField(
        max_length=8, choices=Severity.choices, default=Severity.LOW
    )
    slack_min_severity = models.CharField(
        max_length=8, choices=Severity.choices, default=Severity.HIGH
    )
    # An IANA zone name for the pages' times; blank until chosen or reported by the browser.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN)

    @property
    def can_trade(self) -> bool:
        return self.role in (Role.TRADER, Role.MANAGER, Role.ADMIN)


class ApiToken(models.Model):
    """A long-lived personal token for scripts. Only its SHA-256 is stored; the secret is shown
    once, at creation."""

    PREFIX = "td_"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # The public half of the token as an Alpaca key pair (`APCA-API-KEY-ID`); the secret half
    # is the key itself. Derived from the id, so nothing new is stored.
    KEY_ID_PREFIX = "PK"

    @property
    def key_id(self) -> str:
        return self.KEY_ID_PREFIX + self.id.hex.upper()

    @classmethod
    def token_id_of(cls, key_id: str) -> uuid.UUID | None:
        if not key_id.startswith(cls.KEY_ID_PREFIX):
            return None
        try:
            return uuid.UUID(hex=key_id.removeprefix(cls.KEY_ID_PREFIX))
        except ValueError:
            return None


class RelayEvent(models.Model):
    """An event published by a process without a shared channel layer (the market simulator
    when REDIS_URL is unset). Each web process relays new rows to its own sockets."""

    groups = models.JSONField()
    message = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.message.get('event')} #{self.pk}"


class AuditEvent(models.Model):
    """Who did what to what, when: account resets, approval decisions, admin changes."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}:{self.target_id}"
