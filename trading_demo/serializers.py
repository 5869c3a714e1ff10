"""The base of every serializer here: DRF's `Serializer`, built faster.

DRF deep-copies a serializer's declared fields for every instance it makes, and a field's deep
copy runs its whole `__init__` again (choices, validators, error messages): for an order's
answer that was a tenth of the request, for `/api/auth/me` a fifth. A declared field holds
nothing of an instance until it is bound, so each class deep-copies its declared fields once
and every instance binds shallow copies of those. A field that holds other fields (a nested
serializer, a `ListField`'s child) is still deep-copied per instance as DRF does, so whatever it
holds is bound to this instance and reads this instance's context.

Writing an answer goes the same way. DRF's `to_representation` asks for `self.fields` (every
field copied and bound) for each instance it writes, and an order's answer writes one order and
each of its fills: a tenth of an order's py-spy samples at 32 connections. A serializer of plain
fields (no nested serializer, no relation) keeps the readable fields of its first instance and
writes every later instance with them: these fields read only the value they are given (a
`DateTimeField` reads the time zone in effect at the call), and a `SerializerMethodField` is
answered by this instance's own method, as DRF does. Anything else is written by DRF.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers
from rest_framework.fields import Field, SerializerMethodField, SkipField
from rest_framework.relations import ManyRelatedField, RelatedField

_PROTOTYPES = "_prototype_fields"
_WRITERS = "_answer_fields"

# (name, field, the method of a SerializerMethodField or "")
type Writers = list[tuple[str, Field, str]]


def _holds_fields(field: Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")


class Serializer(serializers.Serializer):
    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        prototypes: dict[str, Field] | None = cls.__dict__.get(_PROTOTYPES)
        if prototypes is None:
            # Two threads may both build it the first time: the same fields, either is right.
            prototypes = copy.deepcopy(self._declared_fields)  # type: ignore[attr-defined]
            setattr(cls, _PROTOTYPES, prototypes)
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in prototypes.items()
        }

    def to_representation(self, instance: Any) -> dict[str, Any]:
        cls = type(self)
        writers: Writers | None = cls.__dict__.get(_WRITERS)
        if writers is None:
            writers = _writers(self)
            setattr(cls, _WRITERS, writers)
        if not writers:
            return dict(super().to_representation(instance))
        answer: dict[str, Any] = {}
        for name, field, method in writers:
            if method:
                answer[name] = getattr(self, method)(instance)
                continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            answer[name] = None if value is None else field.to_representation(value)
        return answer


def _writers(serializer: Serializer) -> Writers:
    """The readable fields one instance writes with, for every instance of its class ([]: a
    field that reads more than its value, left to DRF)."""
    writers: Writers = []
    for field in serializer._readable_fields:
        child = getattr(field, "child", None)
        if isinstance(field, serializers.BaseSerializer | RelatedField | ManyRelatedField) or (
            isinstance(child, serializers.BaseSerializer | RelatedField)
        ):
            return []
        method = field.method_name if isinstance(field, SerializerMethodField) else ""
        writers.append((str(field.field_name), field, method))
    return writers
