from __future__ import annotations

from django.urls import path

from oversight import api

api_urlpatterns = [
    path("approvals", api.ApprovalListApi.as_view(), name="api-approvals"),
    path("approvals/<uuid:approval_id>", api.ApprovalDetailApi.as_view(), name="api-approval"),
    path(
        "approvals/<uuid:approval_id>/approve",
        api.ApprovalDecideApi.as_view(),
        name="api-approval-approve",
    ),
    path(
        "approvals/<uuid:approval_id>/reject",
        api.ApprovalRejectApi.as_view(),
        name="api-approval-reject",
    ),
]
