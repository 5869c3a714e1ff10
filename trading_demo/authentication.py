"""Personal API tokens for scripts (`Authorization: Bearer td_…` or `Token td_…`) and the one
function that turns any token a client holds into a user."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from trading_demo.models import ApiToken, User

LAST_USED_RESOLUTION = timedelta(minutes=1)


def user_for_api_token(key: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Record use at one-minute resolution: a write per request would cost more than it tells.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_for_token(raw: str) -> User | None:
    """A JWT access token or a personal API token -> its active user, else None."""
    if raw.startswith(ApiToken.PREFIX):
        return user_for_api_token(raw)
    try:
        access = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError:
        return None
    return User.objects.filter(pk=access.get("user_id"), is_active=True).first()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken | None] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        keyword, _, key = header.partition(" ")
        key = key.strip()
        if keyword not in ("Bearer", "Token") or not key.startswith(ApiToken.PREFIX):
            return None
        user = user_for_api_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
