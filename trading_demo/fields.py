"""Strict input fields shared by every API serializer that takes money."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# ASCII digits with an optional fraction: no sign, no exponent, no spaces, and none of the other
# scripts' digits that Python's Decimal() reads (Arabic-Indic or full-width sixty is 60 to it).
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
# What `money_input` accepts, for the schema: at least 0.01, at most 12 whole digits (leading
# zeros do not count) and 2 decimals.
MONEY_PATTERN = r"^0*([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": MONEY_PATTERN,
        "example": "150.25",
        "description": "At least 0.01: plain ASCII digits, an optional point, up to 2 decimals.",
    }
)
class StrictDecimalField(serializers.DecimalField):
    """A money amount as a JSON string of plain ASCII digits with an optional point.

    A string, never a JSON number: a float has already lost what the client wrote (`6e1` and
    `60` are the same float), and the schema can then say exactly what is accepted.
    """

    default_error_messages = {
        "plain": 'Send the amount as a string of plain digits with an optional point ("150.25").',
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not PLAIN_DECIMAL.fullmatch(data):
            self.fail("plain")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


def money_input(**kwargs: Any) -> StrictDecimalField:
    """A price or threshold a client sends: 0.01 and up, at most 2 decimal places."""
    kwargs.setdefault("min_value", Decimal("0.01"))
    return StrictDecimalField(max_digits=14, decimal_places=2, **kwargs)
