"""Roles and the Django groups that carry their admin-site permissions.

Each later capability adds its models' permissions here, so one table says who may do what.
"""

from __future__ import annotations

from trading_demo.models import Role

# Permissions by role as "app_label.codename". Admins are superusers and need none.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.MANAGER: (
        "trading_demo.view_user",
        "trading_demo.view_apitoken",
        "trading_demo.view_auditevent",
        "trades.view_symbol",
        "trades.view_order",
        "trades.view_execution",
        "portfolio.view_account",
        "metering.view_quota",
        "metering.change_quota",
        "metering.add_quota",
        "metering.view_usagerecord",
        "alerts.view_alert",
        "alerts.view_pricealert",
        "alerts.view_slackmessage",
        "oversight.view_approvalrequest",
        "oversight.decide_approvalrequest",
        # Who may decide from Slack is the admins' call: managers only see the mapping.
        "oversight.view_slackmanager",
    ),
    Role.TRADER: (),
    Role.VIEWER: (),
}

# Roles that may sign in to the Django admin site.
STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
