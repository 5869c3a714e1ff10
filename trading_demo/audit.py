from __future__ import annotations

from typing import Any

from django.db import models

from trading_demo.models import AuditEvent, User


def audit_record(
    *, actor: User | None, action: str, target: models.Model, data: dict[str, Any]
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data,
    )


def audit_login_failure(
    *, account: str, address: str | None, path: str, locked_out: bool
) -> AuditEvent:
    """A failed sign-in, on any path. The target is the account when it exists (so an
    operator sees every attempt on it), else the name that was tried."""
    user_id = User.objects.filter(email=account).values_list("pk", flat=True).first()
    return AuditEvent.objects.create(
        actor=None,
        action="auth.login_failed",
        target_type=User._meta.label_lower,
        target_id=str(user_id) if user_id is not None else "",
        data={"account": account, "address": address, "path": path, "locked_out": locked_out},
    )
