"""Alpaca key pairs are our personal API tokens: `APCA-API-KEY-ID` is the token's public
`key_id`, `APCA-API-SECRET-KEY` its secret (the `td_…` key shown once at creation). Revoking the
token revokes the pair."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from trading_demo.authentication import user_for_api_token
from trading_demo.models import ApiToken, User


def user_for_key_pair(key_id: str, secret_key: str) -> User | None:
    """The active user whose live token has this key id and secret, else None."""
    if not key_id or not secret_key.startswith(ApiToken.PREFIX):
        return None
    token_id = ApiToken.token_id_of(key_id)
    if token_id is None:
        return None
    key_hash = ApiToken.hash_key(secret_key)
    # The secret alone identifies the token; the key id must name that same token, so a
    # leaked key id with a guessed secret, or two halves of different pairs, get nowhere.
    if not ApiToken.objects.filter(pk=token_id, key_hash=key_hash).exists():
        return None
    return user_for_api_token(secret_key)


class AlpacaKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, None] | None:
        key_id = request.META.get("HTTP_APCA_API_KEY_ID", "")
        secret = request.META.get("HTTP_APCA_API_SECRET_KEY", "")
        if not key_id and not secret:
            return None
        user = user_for_key_pair(key_id.strip(), secret.strip())
        if user is None:
            raise exceptions.AuthenticationFailed("request is not authorized")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'APCA realm="v2"'
