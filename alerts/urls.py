from __future__ import annotations

from django.urls import path

from alerts import api, views

api_urlpatterns = [
    path("alerts", api.AlertListCreateApi.as_view(), name="api-alerts"),
    path("alerts/acknowledge-all", api.AlertAcknowledgeAllApi.as_view(), name="api-alerts-ack-all"),
    path("alerts/price", api.PriceAlertListApi.as_view(), name="api-price-alerts"),
    path("alerts/price/<uuid:alert_id>", api.PriceAlertDetailApi.as_view(), name="api-price-alert"),
    path(
        "alerts/price/<uuid:alert_id>/rearm",
        api.PriceAlertRearmApi.as_view(),
        name="api-price-alert-rearm",
    ),
    path("alerts/<uuid:alert_id>", api.AlertDeleteApi.as_view(), name="api-alert"),
    path(
        "alerts/<uuid:alert_id>/acknowledge",
        api.AlertAcknowledgeApi.as_view(),
        name="api-alert-acknowledge",
    ),
]


page_urlpatterns = [
    path(
        "alerts/<uuid:alert_id>/acknowledge/",
        views.alert_acknowledge_view,
        name="alert-acknowledge",
    ),
    path(
        "alerts/acknowledge-all/",
        views.alerts_acknowledge_all_view,
        name="alerts-acknowledge-all",
    ),
    path("alerts/price/", views.price_alert_create_view, name="price-alert-create"),
    path("alerts/price/validate/", views.price_alert_validate, name="price-alert-validate"),
    path(
        "alerts/price/<uuid:alert_id>/delete/",
        views.price_alert_delete_view,
        name="price-alert-delete",
    ),
    path(
        "alerts/price/<uuid:alert_id>/rearm/",
        views.price_alert_rearm_view,
        name="price-alert-rearm",
    ),
]
