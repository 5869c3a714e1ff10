"""The served OpenAPI schema says what the API answers (issue 12 item 12). What the views
really answer, operation by operation, is schemathesis' part (test_schemathesis.py)."""

from __future__ import annotations

import re

import pytest

PAGED = {
    "/api/trades",
    "/api/market/{symbol}/trades",
    "/api/users",
    "/api/alerts",
    "/api/alerts/price",
    "/api/approvals",
    "/api/portfolio/statement",
}
SHORT_LISTS = {"/api/market/symbols", "/api/auth/tokens", "/api/portfolio/positions"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def body_schema(schema: dict, response: dict) -> dict:
    return resolve(schema, response["content"]["application/json"]["schema"])


def test_every_list_is_declared_as_what_it_returns(schema):
    for path, method, operation in operations(schema):
        if method != "get" or "application/json" not in operation["responses"]["200"].get(
            "content", {}
        ):
            continue
        ok = body_schema(schema, operation["responses"]["200"])
        assert ok.get("type") != "array", f"{path} is declared as a bare array"
        if path in PAGED:
            assert set(ok["properties"]) == {"next", "previous", "results"}, path
            assert set(ok["required"]) == {"next", "previous", "results"}
            assert ok["properties"]["next"]["nullable"] is True
            names = {p["name"] for p in operation["parameters"]}
            assert {"cursor", "limit"} <= names, path
            assert "404" in operation["responses"], f"{path}: an unknown cursor"
        elif path in SHORT_LISTS:
            assert set(ok["properties"]) == {"results"}, path
    paged_found = {p for p, m, o in operations(schema) if m == "get" and "cursor" in str(o)}
    assert paged_found == PAGED


def test_every_error_response_has_the_shared_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "details"}
    assert error["properties"]["details"]["type"] == "object"
    count = 0
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        assert {"401", "429"} <= statuses, f"{method} {path}"
        if operation.get("requestBody"):
            assert {"400", "413"} <= statuses, f"{method} {path}"
        if "{" in path:
            assert "404" in statuses, f"{method} {path}"
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), f"{method} {path} {status}"
                assert re.search(r"`[a-z_]+`", response["description"])
                count += 1
    assert count > 200


def test_statuses_only_some_operations_give(schema):
    def statuses(path: str, method: str) -> set[str]:
        return set(schema["paths"][path][method]["responses"])

    assert {"200", "201", "202", "409", "422", "503"} <= statuses("/api/trades", "post")
    assert "403" in statuses("/api/trades", "post")  # viewers never trade
    assert "403" not in statuses("/api/trades", "get")  # every role reads its own orders
    assert "409" in statuses("/api/trades/{order_id}", "delete")  # not cancelable
    for decision in ("approve", "reject"):
        assert {"403", "404", "409", "503"} <= statuses(
            f"/api/approvals/{{approval_id}}/{decision}", "post"
        )
    assert "403" in statuses("/api/users", "get")  # managers and admins only


def request_schema(schema: dict, path: str, method: str = "post") -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return resolve(schema, content["schema"])


def test_reject_needs_a_reason_and_approve_does_not(schema):
    reject = request_schema(schema, "/api/approvals/{approval_id}/reject")
    assert reject["required"] == ["reason"]
    assert reject["properties"]["reason"]["pattern"] == r"\S"  # not only whitespace
    approve = request_schema(schema, "/api/approvals/{approval_id}/approve")
    assert "reason" not in approve.get("required", [])


def test_symbol_money_confirm_and_month_formats(schema):
    order = request_schema(schema, "/api/trades")
    variants = {v["title"]: v for v in order["oneOf"]}
    assert set(variants) == {
        "order_type MARKET",
        "order_type LIMIT",
        "order_type STOP",
        "order_type STOP_LIMIT",
    }
    limit = variants["order_type LIMIT"]
    assert {"symbol", "type", "quantity", "order_type", "price"} <= set(limit["required"])
    assert limit["properties"]["stop_price"]["enum"] == [None]
    assert variants["order_type MARKET"]["properties"]["price"]["enum"] == [None]
    symbol = limit["properties"]["symbol"]["pattern"]
    assert re.match(symbol, "AAPL") and not re.match(symbol, "aapl")
    money = re.compile(limit["properties"]["price"]["pattern"])
    for good in ("150.25", "1", "0.01", "000150.2"):
        assert money.match(good), good
    for bad in ("6e1", "0", "0.00", "1.234", "-1", "1,5", "\u0666\u0660", "\uff16\uff10"):
        assert not money.match(bad), bad

    alert = request_schema(schema, "/api/alerts")
    assert alert["properties"]["symbol"]["pattern"] == symbol
    assert alert["properties"]["threshold"]["pattern"] == money.pattern

    reset = request_schema(schema, "/api/portfolio/reset")
    assert reset["required"] == ["confirm"]
    assert resolve(schema, reset["properties"]["confirm"]) == {"type": "boolean", "enum": [True]}

    (month,) = schema["paths"]["/api/metering/statement"]["get"]["parameters"]
    pattern = re.compile(month["schema"]["pattern"])
    assert pattern.match("2026-12") and pattern.match("1970-01")
    assert month["allowEmptyValue"] is True  # empty: the current month
    for bad in ("2026-13", "2026-1", "1969-12", "26-12", "2026-12-01"):
        assert not pattern.match(bad), bad


def test_the_served_schema_is_valid_openapi(schema):
    import schemathesis

    loaded = schemathesis.openapi.from_dict(schema)
    assert len(list(loaded.get_all_operations())) == len(list(operations(schema)))
