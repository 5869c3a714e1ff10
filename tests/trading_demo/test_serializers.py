"""trading_demo.serializers.Serializer: fields copied from one prototype per class still belong
to their own instance (parent, context, nested serializers), as DRF's deep copies did."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

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
