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
