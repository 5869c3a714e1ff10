from __future__ import annotations

from django.urls import path

from portfolio import api

api_urlpatterns = [
    path("portfolio", api.PortfolioApi.as_view(), name="api-portfolio"),
    path("portfolio/positions", api.PositionListApi.as_view(), name="api-positions"),
    path(
        "portfolio/positions/export", api.PositionExportApi.as_view(), name="api-positions-export"
    ),
    path("portfolio/performance", api.PerformanceApi.as_view(), name="api-performance"),
    path("portfolio/statement", api.StatementApi.as_view(), name="api-statement"),
    path(
        "portfolio/statement/export", api.StatementExportApi.as_view(), name="api-statement-export"
    ),
    path("portfolio/reset", api.ResetApi.as_view(), name="api-portfolio-reset"),
]
