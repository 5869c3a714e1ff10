from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from alerts import urls as alerts_urls
from alerts import views as alerts_views
from metering import urls as metering_urls
from metering import views as metering_views
from oversight import risk_settings, slack_views
from oversight import urls as oversight_urls
from oversight import views as oversight_views
from portfolio import urls as portfolio_urls
from portfolio import views as portfolio_views
from trades import urls as trades_urls
from trades import views as trades_views
from trading_demo import api, metrics, views
from trading_demo.alpaca import urls as alpaca_urls

api_patterns = [
    path("auth/login", api.LoginApi.as_view(), name="api-login"),
    path("auth/refresh", api.RefreshApi.as_view(), name="api-refresh"),
    path("auth/logout", api.LogoutApi.as_view(), name="api-logout"),
    path("auth/me", api.MeApi.as_view(), name="api-me"),
    path("auth/tokens", api.ApiTokenListCreateApi.as_view(), name="api-tokens"),
    path("auth/tokens/<uuid:token_id>", api.ApiTokenRevokeApi.as_view(), name="api-token"),
    path("users", api.UserListCreateApi.as_view(), name="api-users"),
    path("users/<uuid:user_id>/role", api.UserRoleApi.as_view(), name="api-user-role"),
    *trades_urls.api_urlpatterns,
    *portfolio_urls.api_urlpatterns,
    *metering_urls.api_urlpatterns,
    *alerts_urls.api_urlpatterns,
    *oversight_urls.api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # `[\s\S]*`: also a path with an encoded newline in it, which `.` alone would not match (and
    # Django's HTML 404 page would answer).
    re_path(r"^[\s\S]*$", api.ApiNotFound.as_view(), name="api-not-found"),
]

# The APIs first: Django tries the patterns in order, and API clients send most requests (every
# page pattern tried before `api/` was one more regex match per API call).
urlpatterns = [
    path("api/", include(api_patterns)),
    # Alpaca's Trading API and market-data routes (trading_demo/alpaca/).
    path(
        "v2/",
        include(
            (
                [
                    *alpaca_urls.urlpatterns,
                    *alpaca_urls.docs_urlpatterns,
                    *alpaca_urls.fallback_urlpatterns,
                ],
                "alpaca",
            )
        ),
    ),
    path("", trades_views.dashboard, name="dashboard"),
    *trades_urls.page_urlpatterns,
    path("portfolio/", portfolio_views.portfolio, name="portfolio"),
    path("analytics/", portfolio_views.analytics, name="analytics"),
    path("portfolio/reset/", portfolio_views.reset, name="portfolio-reset"),
    path("metering/", metering_views.metering, name="metering"),
    *metering_urls.page_urlpatterns,
    path("alerts/", alerts_views.alerts, name="alerts"),
    *alerts_urls.page_urlpatterns,
    path("approvals/", oversight_views.approvals, name="approvals"),
    path(
        "approvals/<uuid:approval_id>/approve/",
        oversight_views.approval_approve,
        name="approval-approve",
    ),
    path(
        "approvals/<uuid:approval_id>/reject/",
        oversight_views.approval_reject,
        name="approval-reject",
    ),
    path("risk/", risk_settings.risk_settings, name="risk"),
    path("slack/interactions", slack_views.interactions, name="slack-interactions"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/time-zone/", views.time_zone_detected, name="settings-time-zone"),
    path("settings/tokens/", views.token_create, name="settings-token-create"),
    path(
        "settings/tokens/<uuid:token_id>/revoke/",
        views.token_revoke,
        name="settings-token-revoke",
    ),
    path("status/", views.status_lights, name="status-lights"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask for /favicon.ico whatever the page links: point them at the SVG icon.
    # (Looked up on request: at import, production's manifest may not be collected yet.)
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True),
    ),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
]
