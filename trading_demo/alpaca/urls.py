"""`/v2/…`: Alpaca's Trading API and, on the same origin, its market-data routes."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from trading_demo.alpaca import views

urlpatterns = [
    path("account", views.AccountApi.as_view(), name="account"),
    path("account/portfolio/history", views.PortfolioHistoryApi.as_view(), name="history"),
    path("account/activities", views.ActivitiesApi.as_view(), name="activities"),
    path(
        "account/activities/<str:activity_type>",
        views.ActivitiesOfTypeApi.as_view(),
        name="activities-of-type",
    ),
    path("clock", views.ClockApi.as_view(), name="clock"),
    path("calendar", views.CalendarApi.as_view(), name="calendar"),
    path("assets", views.AssetListApi.as_view(), name="assets"),
    path("assets/<str:symbol>", views.AssetDetailApi.as_view(), name="asset"),
    path("orders", views.OrderListApi.as_view(), name="orders"),
    path(
        "orders:by_client_order_id", views.OrderByClientIdApi.as_view(), name="order-by-client-id"
    ),
    path("orders/<str:order_id>", views.OrderDetailApi.as_view(), name="order"),
    path("positions", views.PositionListApi.as_view(), name="positions"),
    path("positions/<str:symbol>", views.PositionDetailApi.as_view(), name="position"),
    path("stocks/quotes/latest", views.LatestQuotesApi.as_view(), name="quotes-latest"),
    path("stocks/trades/latest", views.LatestTradesApi.as_view(), name="trades-latest"),
    path("stocks/bars", views.BarsApi.as_view(), name="bars"),
    path("stocks/snapshots", views.SnapshotsApi.as_view(), name="snapshots"),
]

docs_urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf="trading_demo.alpaca.schema_urls",
            custom_settings={
                "TITLE": "Trading Demo: Alpaca-compatible API",
                "DESCRIPTION": (
                    "Alpaca's Trading API and market-data routes over the Trading Demo's "
                    "risk checks, approvals, matching and metering. Authenticate with "
                    "APCA-API-KEY-ID / APCA-API-SECRET-KEY (a personal API token's key_id and "
                    'secret). Errors: {"code": 40010001, "message": "..."}.'
                ),
                "PREPROCESSING_HOOKS": [],
            },
        ),
        name="schema",
    ),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="alpaca:schema"), name="docs"),
]

# Last: any other /v2/ path answers in Alpaca's error body.
# `[\s\S]*`: a path with an encoded newline too.
fallback_urlpatterns = [
    re_path(r"^[\s\S]*$", views.NotSupportedApi.as_view(), name="not-supported")
]
