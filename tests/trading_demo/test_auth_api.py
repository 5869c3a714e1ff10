from __future__ import annotations

import json

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from tests.factories import PASSWORD
from trading_demo.models import User

pytestmark = pytest.mark.django_db


def login(api, email: str, password: str = PASSWORD):
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json")


def test_login_returns_tokens_and_user(api, trader):
    response = login(api, trader.email)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": str(trader.id),
        "email": trader.email,
        "role": "trader",
        "display_name": trader.display_name,
    }
    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["email"] == trader.email


def test_login_is_case_insensitive_on_email(api, trader):
    assert login(api, trader.email.upper()).status_code == 200


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_login_failure_is_401_in_shared_shape(api, trader, password):
    response = login(api, trader.email, password)
    if password == "":
        assert response.status_code == 400
        assert response.json()["error"] == "validation_failed"
        assert "password" in response.json()["details"]
        return
    assert response.status_code == 401
    assert response.json() == {
        "error": "not_authenticated",
        "message": "Wrong email or password.",
        "details": {},
    }


def test_inactive_user_cannot_log_in(api, trader):
    trader.is_active = False
    trader.save()
    assert login(api, trader.email).status_code == 401


def test_refresh_rotates_and_old_refresh_is_dead(api, trader):
    first = login(api, trader.email).json()
    rotated = api.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != first["refresh"]
    assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {new['token']}").status_code == 200
    again = api.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["error"] == "not_authenticated"


def test_refresh_with_garbage_is_401(api):
    response = api.post("/api/auth/refresh", {"refresh": "not-a-token"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_logout_blacklists_the_refresh_token(api, trader):
    tokens = login(api, trader.email).json()
    response = api.post(
        "/api/auth/logout",
        {"refresh": tokens["refresh"]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['token']}",
    )
    assert response.status_code == 204
    assert BlacklistedToken.objects.count() == 1
    after = api.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert after.status_code == 401


def test_me_requires_authentication(api):
    response = api.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_patch_updates_preferences(client_for, trader):
    response = client_for(trader).patch("/api/auth/me", {"theme": "dark"}, format="json")
    assert response.status_code == 200
    trader.refresh_from_db()
    assert trader.theme == "dark"


def test_me_patch_rejects_unknown_theme_and_changes_nothing(client_for, trader):
    response = client_for(trader).patch("/api/auth/me", {"theme": "neon"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"
    assert "theme" in response.json()["details"]
    trader.refresh_from_db()
    assert trader.theme == "light"


# Role matrix on a protected endpoint: the user directory. Managers read it, only admins write.
@pytest.mark.parametrize(
    ("role_fixture", "read", "write"),
    [
        ("viewer", 403, 403),
        ("trader", 403, 403),
        ("manager", 200, 403),
        ("admin_user", 200, 201),
    ],
)
def test_role_matrix_on_users_endpoint(request, client_for, role_fixture, read, write):
    user = request.getfixturevalue(role_fixture)
    client = client_for(user)
    assert client.get("/api/users").status_code == read
    response = client.post(
        "/api/users",
        {"email": "new@example.com", "password": "a-long-password", "role": "trader"},
        format="json",
    )
    assert response.status_code == write
    if write == 403:
        assert response.json()["error"] == "permission_denied"
        assert not User.objects.filter(email="new@example.com").exists()
    else:
        assert User.objects.get(email="new@example.com").groups.get().name == "trader"


def test_admin_changes_role_and_staff_flag_follows(client_for, admin_user, trader):
    response = client_for(admin_user).put(
        f"/api/users/{trader.id}/role", {"role": "manager"}, format="json"
    )
    assert response.status_code == 200
    trader.refresh_from_db()
    assert (trader.role, trader.is_staff, trader.groups.get().name) == ("manager", True, "manager")


def test_api_token_lifecycle(client_for, api, trader):
    created = client_for(trader).post("/api/auth/tokens", {"name": "backtest"}, format="json")
    assert created.status_code == 201
    key = created.json()["token"]
    assert key.startswith("td_")
    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.status_code == 200 and me.json()["email"] == trader.email
    listed = client_for(trader).get("/api/auth/tokens").json()["results"]
    assert [t["name"] for t in listed] == ["backtest"]
    assert "token" not in listed[0]
    token_id = created.json()["id"]
    assert client_for(trader).delete(f"/api/auth/tokens/{token_id}").status_code == 204
    revoked = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "not_authenticated"


def test_another_users_token_is_404_and_stays_active(client_for, api, trader, trader2):
    created = client_for(trader).post("/api/auth/tokens", {"name": "mine"}, format="json").json()
    response = client_for(trader2).delete(f"/api/auth/tokens/{created['id']}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    me = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert me.status_code == 200


def test_unknown_api_path_is_404_in_shared_shape(client_for, trader):
    response = client_for(trader).get("/api/does-not-exist")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "message", "details"}


def test_wrong_method_is_405_in_shared_shape(client_for, trader):
    response = client_for(trader).delete("/api/auth/me")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_malformed_json_is_400(api, trader):
    response = api.post("/api/auth/login", data="{bad json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"


def test_wrong_content_type_is_400(api, trader):
    response = api.post("/api/auth/login", data="email=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"


def test_missing_fields_are_named(api):
    response = api.post("/api/auth/login", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"email", "password"}


def test_oversize_body_is_413_and_writes_nothing(client_for, trader):
    body = json.dumps({"name": "x" * (70 * 1024)})
    response = client_for(trader).post(
        "/api/auth/tokens", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert trader.api_tokens.count() == 0


def test_login_is_rate_limited_per_client(api, trader, monkeypatch):
    from trading_demo.throttling import LoginRateThrottle

    monkeypatch.setattr(LoginRateThrottle, "rate", "3/min", raising=False)
    codes = [login(api, trader.email, "wrong").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # The limit is per client, not per password: the right password is refused too.
    assert login(api, trader.email).status_code == 429


def test_api_rate_limit_gives_retry_after(client_for, trader, monkeypatch):
    from trading_demo.throttling import ApiUserRateThrottle

    monkeypatch.setattr(ApiUserRateThrottle, "rate", "2/min", raising=False)
    client = client_for(trader)
    responses = [client.get("/api/auth/me") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["error"] == "rate_limited"
    assert int(responses[2].headers["Retry-After"]) > 0


def test_unexpected_error_is_500_in_shared_shape(client_for, trader, monkeypatch):
    import trading_demo.api

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(trading_demo.api, "api_tokens_for", broken)
    response = client_for(trader).get("/api/auth/tokens")
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert "disk on fire" not in response.content.decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    # Flip one character of the signature: the token no longer verifies.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


@pytest.mark.parametrize(
    "credential",
    ["tampered_jwt", "garbage_jwt", "unknown_api_token"],
)
def test_bad_token_is_401_with_a_plain_message(api, trader, credential):
    from rest_framework_simplejwt.tokens import RefreshToken

    raw = {
        "tampered_jwt": _tampered(str(RefreshToken.for_user(trader).access_token)),
        "garbage_jwt": "not.a.jwt",
        "unknown_api_token": "td_" + "x" * 40,
    }[credential]
    response = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == "not_authenticated"
    assert body["details"] == {}
    # A sentence for a person, not a Python repr of DRF's ErrorDetail.
    for leak in ("ErrorDetail", "{", "'detail'", "string="):
        assert leak not in body["message"]
    assert body["message"] in (
        "Given token not valid for any token type",
        "Invalid or revoked API token.",
    )


def test_access_token_of_a_deactivated_or_deleted_user_is_refused(api, trader):
    token = login(api, trader.email).json()["token"]
    assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    trader.is_active = False
    trader.save()
    refused = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json()["error"] == "not_authenticated"
    trader.delete()
    assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_token_seen_before_is_still_refused_once_it_expires(api, trader, monkeypatch):
    """The API keeps the access tokens whose signature it checked; the expiry is checked on
    every request all the same (with the clock moved past it, the same token is a 401)."""
    from datetime import timedelta

    from rest_framework_simplejwt import tokens
    from rest_framework_simplejwt.utils import aware_utcnow

    from trading_demo import authentication

    token = login(api, trader.email).json()["token"]
    for _ in range(2):  # the second request takes the kept token
        assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert token.encode() in authentication._verified
    later = aware_utcnow() + timedelta(hours=1)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    monkeypatch.setattr(tokens, "aware_utcnow", lambda: later)
    refused = api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json()["error"] == "not_authenticated"
    assert token.encode() not in authentication._verified
