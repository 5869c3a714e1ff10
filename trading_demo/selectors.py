from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from trading_demo.models import ApiToken, User


def api_tokens_for(*, user: User, include_revoked: bool = False) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.filter(user=user)
    if not include_revoked:
        tokens = tokens.filter(revoked_at__isnull=True)
    return tokens.order_by("-created_at")


def users_list(*, role: str | None = None) -> QuerySet[User]:
    users = User.objects.all().order_by("email")
    if role:
        users = users.filter(role=role)
    return users


def user_name(*, user_id: str) -> str:
    """How a page names a user it knows only by id (the oversight service records actors by
    id): their display name, else their email; an id of no user here is shown as it is."""
    try:
        user = User.objects.filter(pk=user_id).only("display_name", "email").first()
    except (ValueError, ValidationError):
        user = None
    if user is None:
        return str(user_id)
    return user.display_name or user.email
