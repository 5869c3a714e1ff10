from __future__ import annotations

from django.contrib import admin

from oversight.models import ApprovalRequest, SlackManager

admin.site.register(ApprovalRequest)
admin.site.register(SlackManager)
