"""Personal API tokens for scripts (`Authorization: Bearer td_…` or `Token td_…`) and the one
function that turns any token a client holds into a user."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

from trading_demo.models import ApiToken, User
from trading_demo.prepared import PreparedQuery

LAST_USED_RESOLUTION = timedelta(minutes=1)
VERIFIED_TOKENS_KEPT = 4096

# Every API request reads its user (trading_demo/prepared.py says why it is compiled once).
_USER = PreparedQuery(lambda user_id: User.objects.filter(pk=user_id), user_id=UUID)


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
        # META, not DRF's get_authorization_header(): that builds `request.headers`, every
        # header of the request, to read this one.
        header = request._request.META.get("HTTP_AUTHORIZATION", "")
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


# Access tokens whose signature this process has checked. An access token is stateless (its
# signature and its `exp` are all there is to check), and a client sends the same one with every
# request for its lifetime: decoding and verifying it again cost a seventh of a small request.
_verified: dict[bytes, Token] = {}


class UserJWTAuthentication(JWTAuthentication):
    """simplejwt's JWT authentication, reading the token's user with one prepared query; the
    same checks (a signature, an expiry, a user that exists and is active). A token seen before
    skips the signature check but never the expiry."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                _verified.pop(raw_token, None)  # simplejwt says why, below
            else:
                return token
        token = super().get_validated_token(raw_token)
        if len(_verified) >= VERIFIED_TOKENS_KEPT:
            _verified.clear()
        _verified[raw_token] = token
        return token

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None:
            raise exceptions.AuthenticationFailed(
                "Token contained no recognizable user identification", code="bad_token"
            )
        try:
            found = _USER.objects(user_id=UUID(str(user_id)))
        except ValueError:
            found = []
        if not found:
            raise exceptions.AuthenticationFailed("User not found", code="user_not_found")
        user: User = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        return user
