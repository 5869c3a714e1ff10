"""Writes for users, roles, preferences and personal API tokens."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from trading_demo.errors import NotFound, ValidationFailed
from trading_demo.models import ApiToken, Role, Severity, Theme, User
from trading_demo.realtime import publish
from trading_demo.roles import ROLE_PERMISSIONS, STAFF_ROLES
from trading_demo.timezones import zone_valid

MAX_ACTIVE_TOKENS = 20


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create the four groups and give each exactly its permissions (idempotent)."""
    groups: dict[str, Group] = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted: list[Permission] = []
        for dotted in ROLE_PERMISSIONS.get(role, ()):
            app_label, codename = dotted.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        groups[role.value] = group
    return groups


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: str = Role.TRADER,
    display_name: str = "",
) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed("A user with this email exists.", details={"email": ["taken"]})
    user = User(email=email, display_name=display_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user_set_role(user=user, role=role)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", details={"role": ["unknown"]})
    group, _ = Group.objects.get_or_create(name=role)
    user.role = role
    user.is_staff = role in STAFF_ROLES
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    user.groups.set([group])
    return user


def preferences_update(
    *,
    user: User,
    theme: str | None = None,
    toast_min_severity: str | None = None,
    slack_min_severity: str | None = None,
    time_zone: str | None = None,
) -> User:
    changes: dict[str, Any] = {}
    if time_zone is not None:
        if not zone_valid(time_zone):
            raise ValidationFailed(
                f"time_zone: {time_zone[:64]!r} is not a time zone (an IANA name such as "
                "America/New_York).",
                details={"time_zone": ["invalid"]},
            )
        changes["time_zone"] = time_zone
    for field, value, allowed in (
        ("theme", theme, Theme.values),
        ("toast_min_severity", toast_min_severity, Severity.values),
        ("slack_min_severity", slack_min_severity, Severity.values),
    ):
        if value is None:
            continue
        if value not in allowed:
            raise ValidationFailed(
                f"{field}: must be one of {', '.join(allowed)}.", details={field: ["invalid"]}
            )
        changes[field] = value
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        user.save(update_fields=list(changes))
        publish("preferences:updated", {"theme": user.theme}, user_ids=[user.pk])
    return user


def time_zone_report(*, user: User, time_zone: str) -> bool:
    """The zone the user's browser reports, kept only while the user has chosen none (a
    choice made in Settings wins over every browser). True when it was kept."""
    if user.time_zone:
        return False
    preferences_update(user=user, time_zone=time_zone)
    return True


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Return the token and its secret; the secret is never stored and cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationFailed(
            "name: give the token a name of 1 to 64 characters.", details={"name": ["invalid"]}
        )
    # Lock the user row so two concurrent creations cannot both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(
            f"At most {MAX_ACTIVE_TOKENS} active tokens; revoke one first.",
            details={"name": ["too_many_tokens"]},
        )
    key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=ApiToken.hash_key(key), hint=key[:8]
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: UUID | str) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
