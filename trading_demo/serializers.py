"""The base of every serializer here: DRF's `Serializer`, built faster.

DRF deep-copies a serializer's declared fields for every instance it makes, and a field's deep
copy runs its whole `__init__` again (choices, validators, error messages): for an order's
answer that was a tenth of the request, for `/api/auth/me` a fifth. A declared field holds
nothing of an instance until it is bound, so each class deep-copies its declared fields once
and every instance binds shallow copies of those. A field that holds other fields (a nested
serializer, a `ListField`'s child) is still deep-copied per instance as DRF does, so whatever it
holds is bound to this instance and reads this instance's context.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers
from rest_framework.fields import Field

_PROTOTYPES = "_prototype_fields"


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
