"""The decision form the admin and the Approvals page share: a reason, required to reject."""

from __future__ import annotations

from typing import Any

from django import forms

from oversight.services.requests import REASON_MAX_LENGTH

REASON_REQUIRED = "A rejection needs a reason the trader will read."


class DecisionForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, approve: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        # approval_decide refuses a rejection without a reason too; checking here first lets
        # the form say so next to the field instead of after a round trip to the service.
        reason.required = not approve
        reason.error_messages["required"] = REASON_REQUIRED
        reason.label = "Note (optional)" if approve else "Reason (the trader reads it)"
