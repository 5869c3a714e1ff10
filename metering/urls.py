from __future__ import annotations

from django.urls import path

from metering import api, views

api_urlpatterns = [
    path("metering/usage", api.UsageApi.as_view(), name="api-usage"),
    path("metering/costs", api.CostsApi.as_view(), name="api-costs"),
    path("metering/quota", api.QuotaApi.as_view(), name="api-quota"),
    path("metering/track", api.TrackApi.as_view(), name="api-track"),
    path("metering/estimate", api.EstimateApi.as_view(), name="api-estimate"),
    path("metering/statement", api.StatementApi.as_view(), name="api-usage-statement"),
]

page_urlpatterns = [
    path("metering/estimate/", views.estimator, name="metering-estimate"),
]
