"""Auth, the signed-in user, personal API tokens and (for admins) users."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth import authenticate, logout
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from trading_demo.errors import DomainError, NotFound, ValidationFailed
from trading_demo.fields import StrictCharField
from trading_demo.logins import LOCKOUT_STATUS, is_locked_out, lockout_error
from trading_demo.models import Role, Severity, Theme, User
from trading_demo.pagination import cursor_page
from trading_demo.permissions import AdminWritesManagerReads, IsAdmin
from trading_demo.schema import page_of, results_of
from trading_demo.selectors import api_tokens_for, users_list
from trading_demo.serializers import Serializer
from trading_demo.services import (
    api_token_create,
    api_token_revoke,
    preferences_update,
    user_create,
    user_set_role,
)
from trading_demo.throttling import LoginRateThrottle


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status_code = status.HTTP_401_UNAUTHORIZED


# Plain serializers, not ModelSerializers: those read the model's fields again on every
# request (a third of `GET /api/auth/me`'s time here).
class UserOutput(Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    display_name = serializers.CharField()


class MeOutput(UserOutput):
    theme = serializers.ChoiceField(choices=Theme.choices)
    toast_min_severity = serializers.ChoiceField(choices=Severity.choices)
    slack_min_severity = serializers.ChoiceField(choices=Severity.choices)
    date_joined = serializers.DateTimeField()


def _tokens_for(user: User) -> dict[str, Any]:
    refresh = RefreshToken.for_user(user)
    return {"token": str(refresh.access_token), "refresh": str(refresh)}


class LoginApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    class OutputSerializer(Serializer):
        token = serializers.CharField()
        refresh = serializers.CharField()
        user = UserOutput()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # authenticate() runs axes' lockout check first (trading_demo/logins.py).
        user = authenticate(
            request,
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if user is None:
            if is_locked_out(request):
                body, headers = lockout_error(request)
                return Response(body, status=LOCKOUT_STATUS, headers=headers)
            raise NotAuthenticated("Wrong email or password.")
        return Response({**_tokens_for(user), "user": UserOutput(user).data})


class RefreshApi(APIView):
    """Exchanges a refresh token for a new access token and a new refresh token; the old refresh
    token is blacklisted (rotation)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(Serializer):
        refresh = serializers.CharField(max_length=2048)

    class OutputSerializer(Serializer):
        token = serializers.CharField()
        refresh = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = TokenRefreshSerializer(data={"refresh": data.validated_data["refresh"]})
        try:
            refresh.is_valid(raise_exception=True)
        except (TokenError, serializers.ValidationError) as exc:
            raise NotAuthenticated("Refresh token is invalid, expired or revoked.") from exc
        except Exception as exc:
            # simplejwt raises InvalidToken (an AuthenticationFailed) for blacklisted tokens.
            raise NotAuthenticated("Refresh token is invalid, expired or revoked.") from exc
        return Response(
            {
                "token": refresh.validated_data["access"],
                "refresh": refresh.validated_data["refresh"],
            }
        )


class LogoutApi(APIView):
    """Blacklists the refresh token (and ends the browser session, if any)."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class InputSerializer(Serializer):
        refresh = serializers.CharField(max_length=2048, required=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data.get("refresh")
        if raw is None and not request.user.is_authenticated:
            raise NotAuthenticated("Send the refresh token to log out.")
        if raw is not None:
            try:
                RefreshToken(raw).blacklist()  # type: ignore[arg-type]
            except TokenError as exc:
                raise NotAuthenticated("Refresh token is invalid, expired or revoked.") from exc
        # A signed-in browser's session ends too; a cookie-less client has none
        # (trading_demo/lanes.py).
        if request.user.is_authenticated and hasattr(request._request, "session"):
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]
    billable = None

    class InputSerializer(Serializer):
        theme = serializers.ChoiceField(choices=Theme.choices, required=False)
        toast_min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
        slack_min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)

    @extend_schema(responses={200: MeOutput})
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)

    @extend_schema(request=InputSerializer, responses={200: MeOutput})
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = preferences_update(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(MeOutput(user).data)


class ApiTokenOutput(Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    hint = serializers.CharField()
    # The token as an Alpaca key pair: `key_id` here, `secret_key` (= `token`) only at creation.
    key_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class ApiTokenListCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    billable = None

    class InputSerializer(Serializer):
        name = StrictCharField(max_length=64)

    @extend_schema(responses={200: results_of(ApiTokenOutput)})
    def get(self, request: Request) -> Response:
        tokens = api_tokens_for(user=request.user)  # type: ignore[arg-type]
        return Response({"results": ApiTokenOutput(tokens[:100], many=True).data})

    class CreatedSerializer(ApiTokenOutput):
        token = serializers.CharField(help_text="The secret, shown this once.")

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = api_token_create(user=request.user, name=data.validated_data["name"])  # type: ignore[arg-type]
        body = {**ApiTokenOutput(token).data, "token": key, "secret_key": key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]
    billable = None

    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: UUID) -> Response:
        api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListCreateApi(APIView):
    """Managers read the user list (they oversee traders); only admins create users."""

    permission_classes = [AdminWritesManagerReads]

    class InputSerializer(Serializer):
        email = serializers.EmailField(max_length=254)
        password = StrictCharField(min_length=8, max_length=256, trim_whitespace=False)
        role = serializers.ChoiceField(choices=Role.choices)
        display_name = StrictCharField(max_length=80, required=False, default="")

    @extend_schema(
        parameters=[OpenApiParameter("role", str, enum=Role.values)],
        responses={200: page_of(UserOutput)},
    )
    def get(self, request: Request) -> Response:
        role = request.query_params.get("role")
        if role is not None and role not in Role.values:
            raise ValidationFailed(
                f"role: one of {', '.join(Role.values)}.", details={"role": ["invalid"]}
            )
        return cursor_page(
            request=request,
            view=self,
            queryset=users_list(role=role),
            output=UserOutput,
            ordering="email",
        )

    @extend_schema(request=InputSerializer, responses={201: UserOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class UserRoleApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(request=InputSerializer, responses={200: UserOutput})
    def put(self, request: Request, user_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise NotFound("No such user.")
        return Response(UserOutput(user_set_role(user=user, role=data.validated_data["role"])).data)


class ApiNotFound(APIView):
    """Any unknown path under /api/ answers in the shared error shape."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []
    schema = None

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"No API endpoint at {request.path}.")

    get = post = put = patch = delete = _not_found
