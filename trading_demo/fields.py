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
        # Read on forms as well as by API clients: say what an amount looks like and its least.
        "plain": "Enter an amount of 0.01 or more in plain digits with an optional point, sent as "
        'text ("150.25").',
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not PLAIN_DECIMAL.fullmatch(data):
            self.fail("plain")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


def money_input(**kwargs: Any) -> StrictDecimalField:
    """A price or threshold a client sends: 0.01 and up, at most 2 decimal places."""
    kwargs.setdefault("min_value", Decimal("0.01"))
    return StrictDecimalField(max_digits=14, decimal_places=2, **kwargs)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no strings, no fractions, no booleans."""

    default_error_messages = {"strict": "Must be a whole number (a JSON integer)."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("strict")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


@extend_schema_field({"type": "boolean", "enum": [True]})
class ConfirmField(serializers.BooleanField):
    """`"confirm": true`, literally: DRF's BooleanField would also take "yes", "on" or 1."""

    default_error_messages = {"confirm": "Send true to confirm."}

    def to_internal_value(self, data: Any) -> bool:
        if data is not True:
            self.fail("confirm")
        return True


# A listed symbol's code: capitals, then capitals, digits or dots; 1 to 10 characters.
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.]{0,9}$"


class JsonStringOnly(serializers.CharField):
    """A JSON string: DRF's CharField also takes numbers and turns them into text."""

    default_error_messages = {"string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("string")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


class StrictCharField(JsonStringOnly):
    pass


class StrictRegexField(JsonStringOnly, serializers.RegexField):
    pass


def symbol_input(**kwargs: Any) -> serializers.RegexField:
    """A symbol a client names; whether it is listed is the service's check."""
    return StrictRegexField(
        SYMBOL_PATTERN,
        max_length=10,
        error_messages={
            "invalid": "Use the symbol's code in capitals, 1 to 10 characters (e.g. AAPL)."
        },
        **kwargs,
    )
