"""The oversight service's risk rules and trading state (the kill switch): admins change them,
every change is audited here too."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.cache import cache

from alerts.models import AlertType
from alerts.services import alert_raise
from oversight import client as oversight
from oversight.selectors import TRADING_STATE_CACHE_KEY
from trading_demo.errors import Forbidden, ValidationFailed
from trading_demo.models import AuditEvent, Role, Severity, User


def _settings_audit(*, actor: User, action: str, data: dict[str, Any]) -> None:
    AuditEvent.objects.create(
        actor=actor, action=action, target_type="oversight.service", target_id="risk", data=data
    )


def risk_config_set(*, actor: User, config: oversight.RiskConfig) -> oversight.RiskSettings:
    """Replace the service's risk rules (admins only); the change is audited here too."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins change the risk rules.")
    saved = oversight.set_risk_config(config=config, actor=actor.pk)
    _settings_audit(
        actor=actor, action="risk.config_changed", data={"config": risk_config_dict(config)}
    )
    return saved


def trading_state_set(*, actor: User, state: str) -> oversight.RiskSettings:
    """The kill switch: ACTIVE, REDUCING (only sells of held shares) or HALTED (nothing but
    cancels). Admins only; audited, and the managers are told."""
    if actor.role != Role.ADMIN:
        raise Forbidden("Only admins switch the trading state.")
    if state not in oversight.TradingState.__members__:
        raise ValidationFailed(
            f"state: one of {', '.join(oversight.TradingState.__members__)}.",
            details={"state": ["invalid choice"]},
        )
    saved = oversight.set_trading_state(state=state, actor=actor.pk)
    cache.delete(TRADING_STATE_CACHE_KEY)  # every page's banner shows the new state at once
    _settings_audit(actor=actor, action="risk.trading_state_changed", data={"state": state})
    alert_raise(
        type=AlertType.RISK,
        severity=Severity.LOW if state == oversight.TradingState.ACTIVE else Severity.HIGH,
        message=f"Trading state set to {state} by {actor.email}.",
        to_managers=True,
        data={"trading_state": state},
    )
    return saved


def risk_config_dict(config: oversight.RiskConfig) -> dict[str, Any]:
    """The rules as JSON-ready values (decimals as strings), for the audit log."""
    return json.loads(json.dumps(asdict(config), default=str))  # type: ignore[no-any-return]
