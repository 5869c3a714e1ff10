"""The Risk page: the oversight service's rules and trading state, read by managers and
changed by admins. Everything shown is read from the service on each request."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from oversight import client as oversight
from oversight.services.rules import risk_config_set, trading_state_set
from trading_demo.errors import DomainError
from trading_demo.models import Role
from trading_demo.pages import AuthedHtmxRequest, manager_required
from trading_demo.selectors import user_name

BAND_FIELDS = ("notional_bands", "position_bands", "volatility_bands")
NUMBER_FIELDS = (
    "depth_max_points",
    "recent_orders_above",
    "recent_orders_points",
    "fat_finger_points",
    "price_deviation_points",
    "medium_at",
    "high_at",
    "critical_at",
)
DECIMAL_FIELDS = ("fat_finger_multiple", "price_deviation_above", "approval_notional_above")


def bands_text(bands: tuple[oversight.RiskBand, ...]) -> str:
    return ", ".join(f"{band.above}:{band.points}" for band in bands)


def parse_bands(text: str) -> tuple[oversight.RiskBand, ...]:
    """ "0.30:30, 0.20:25" → bands (ratio above which, points)."""
    bands = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        above, sep, points = item.partition(":")
        try:
            if not sep:
                raise ValueError
            bands.append(oversight.RiskBand(above=Decimal(above.strip()), points=int(points)))
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(
                f"{item!r}: write each band as ratio:points, like 0.30:30."
            ) from None
    return tuple(bands)


class RiskConfigForm(forms.Form):
    notional_bands = forms.CharField(label="Order notional / equity bands", max_length=200)
    position_bands = forms.CharField(label="Projected position / equity bands", max_length=200)
    volatility_bands = forms.CharField(label="Annualised volatility bands", max_length=200)
    depth_max_points = forms.IntegerField(label="Book depth: most points", min_value=0)
    recent_orders_above = forms.IntegerField(label="Orders per minute above", min_value=0)
    recent_orders_points = forms.IntegerField(label="Order-rate points", min_value=0)
    fat_finger_multiple = forms.DecimalField(label="Fat finger: times typical volume", min_value=0)
    fat_finger_points = forms.IntegerField(label="Fat-finger points", min_value=0)
    price_deviation_above = forms.DecimalField(label="Price off reference above", min_value=0)
    price_deviation_points = forms.IntegerField(label="Price-deviation points", min_value=0)
    approval_notional_above = forms.DecimalField(label="Approval needed above (USD)", min_value=0)
    medium_at = forms.IntegerField(label="MEDIUM from score", min_value=0, max_value=100)
    high_at = forms.IntegerField(label="HIGH from score", min_value=0, max_value=100)
    critical_at = forms.IntegerField(
        label="CRITICAL (rejected) from score", min_value=0, max_value=100
    )

    @classmethod
    def initial_from(cls, config: oversight.RiskConfig) -> dict[str, Any]:
        values: dict[str, Any] = {name: bands_text(getattr(config, name)) for name in BAND_FIELDS}
        values.update({name: getattr(config, name) for name in NUMBER_FIELDS + DECIMAL_FIELDS})
        return values

    def clean_notional_bands(self) -> tuple[oversight.RiskBand, ...]:
        return parse_bands(self.cleaned_data["notional_bands"])

    def clean_position_bands(self) -> tuple[oversight.RiskBand, ...]:
        return parse_bands(self.cleaned_data["position_bands"])

    def clean_volatility_bands(self) -> tuple[oversight.RiskBand, ...]:
        return parse_bands(self.cleaned_data["volatility_bands"])

    def config(self, current: oversight.RiskConfig) -> oversight.RiskConfig:
        return replace(current, **self.cleaned_data)


class TradingStateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(state.value, state.value) for state in oversight.TradingState]
    )


@manager_required
@require_http_methods(["GET", "POST"])
def risk_settings(request: AuthedHtmxRequest) -> HttpResponse:
    try:
        current = oversight.get_risk_config()
    except oversight.OversightUnavailable as exc:
        return render(request, "oversight/risk.html", {"unavailable": exc.message}, status=503)
    is_admin = request.user.role == Role.ADMIN
    config_form = RiskConfigForm(initial=RiskConfigForm.initial_from(current.config))
    state_form = TradingStateForm(initial={"state": current.trading_state.value})
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only admins change the risk rules.")
        try:
            if "state" in request.POST:
                state_form = TradingStateForm(request.POST)
                if state_form.is_valid():
                    trading_state_set(actor=request.user, state=state_form.cleaned_data["state"])
                    messages.success(request, "Trading state saved.")
                    return redirect("risk")
            else:
                config_form = RiskConfigForm(request.POST)
                if config_form.is_valid():
                    risk_config_set(actor=request.user, config=config_form.config(current.config))
                    messages.success(request, "Risk rules saved.")
                    return redirect("risk")
            status = 400
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
    context = {
        "settings": current,
        "state_changed_by": user_name(user_id=current.trading_state_changed_by)
        if current.trading_state_changed_by
        else "",
        "config_updated_by": user_name(user_id=current.config_updated_by)
        if current.config_updated_by
        else "",
        "config_form": config_form,
        "state_form": state_form,
        "is_admin": is_admin,
        "states": [
            ("ACTIVE", "Orders are scored and routed as usual."),
            ("REDUCING", "Only sells of shares already held; everything else is refused."),
            ("HALTED", "Every new order is refused; cancels still work."),
        ],
    }
    return render(request, "oversight/risk.html", context, status=status)
