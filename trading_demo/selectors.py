from __future__ import annotations

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
