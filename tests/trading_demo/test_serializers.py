"""trading_demo.serializers.Serializer: fields copied from one prototype per class still belong
to their own instance (parent, context, nested serializers), as DRF's deep copies did."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from django.utils import timezone
from rest_framework import serializers

from trading_demo.serializers import Serializer


class Inner(Serializer):
    who = serializers.SerializerMethodField()

    def get_who(self, item: Any) -> str:
        return f"{self.context['viewer']}:{item.name}"


class Outer(Serializer):
    name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=6, decimal_places=2)
    who = serializers.SerializerMethodField()
    inner = Inner(source="*", read_only=True)

    def get_who(self, item: Any) -> str:
        return str(self.context["viewer"])


ITEM = SimpleNamespace(name="acme", tags=["a", "b"], price="1.5")


def test_each_instance_binds_its_own_copies():
    first, second = Outer(ITEM, context={"viewer": "ann"}), Outer(ITEM, context={"viewer": "bob"})
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["inner"].fields["who"].parent is first.fields["inner"]


def test_interleaved_instances_read_their_own_context():
    first, second = Outer(ITEM, context={"viewer": "ann"}), Outer(ITEM, context={"viewer": "bob"})
    _ = first.fields, second.fields  # both bound before either is rendered
    assert first.data == {
        "name": "acme",
        "tags": ["a", "b"],
        "price": "1.50",
        "who": "ann",
        "inner": {"who": "ann:acme"},
    }
    assert second.data["who"] == "bob" and second.data["inner"] == {"who": "bob:acme"}


def test_validation_errors_stay_with_their_instance():
    bad, good = (
        Outer(data={"name": "x", "tags": "no", "price": "abc"}),
        Outer(data={"name": "y", "tags": ["t"], "price": "2"}),
    )
    assert not bad.is_valid() and set(bad.errors) == {"tags", "price"}
    assert good.is_valid(), good.errors
    assert good.validated_data["price"] == Decimal("2")


class Answer(Serializer):
    """Plain fields only: written with the first instance's bound fields."""

    id = serializers.UUIDField()
    symbol = serializers.CharField(source="symbol_id")
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    at = serializers.DateTimeField()
    tags = serializers.ListField(child=serializers.CharField())
    who = serializers.SerializerMethodField()
    secret = serializers.CharField(write_only=True)

    def get_who(self, item: Any) -> str:
        return f"{self.context['viewer']}:{item.symbol_id}"


def _answer_item(**overrides: Any) -> SimpleNamespace:
    values = {
        "id": UUID(int=7),
        "symbol_id": "ACME",
        "price": Decimal("100.054"),
        "at": datetime(2026, 12, 2, 14, 30, 5, 123456, tzinfo=UTC),
        "tags": ["a", "b"],
        "secret": "never shown",
    }
    return SimpleNamespace(**(values | overrides))


def test_an_answer_of_plain_fields_is_what_drf_writes_in_every_time_zone():
    items = [_answer_item(), _answer_item(price=None, tags=[]), _answer_item(symbol_id="BOLT")]
    for zone in ("UTC", "America/New_York"):
        with timezone.override(zone):
            for item in items:
                ours = Answer(item, context={"viewer": "ann"}).data
                drf = serializers.Serializer.to_representation(
                    Answer(item, context={"viewer": "ann"}), item
                )
                assert ours == drf
    assert Answer(items[0], context={"viewer": "bob"}).data == {
        "id": "00000000-0000-0000-0000-000000000007",
        "symbol": "ACME",
        "price": "100.05",
        "at": "2026-12-02T14:30:05.123456Z",
        "tags": ["a", "b"],
        "who": "bob:ACME",
    }


def test_later_answers_bind_no_fields(monkeypatch):
    _ = Answer(_answer_item(), context={"viewer": "ann"}).data  # the class's writers kept
    bound = []
    monkeypatch.setattr(Answer, "get_fields", lambda self: bound.append(self) or {})

    data = Answer(_answer_item(symbol_id="CRUX"), context={"viewer": "cat"}).data

    assert bound == []
    assert data["symbol"] == "CRUX" and data["who"] == "cat:CRUX"


def test_a_serializer_holding_a_serializer_is_written_by_drf_with_its_context():
    first = Outer(ITEM, context={"viewer": "ann"}).data
    second = Outer(ITEM, context={"viewer": "bob"}).data
    assert first["inner"] == {"who": "ann:acme"} and second["inner"] == {"who": "bob:acme"}
