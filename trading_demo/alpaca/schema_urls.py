"""The URL conf the `/v2/schema/` document is generated from: only the Alpaca routes."""

from __future__ import annotations

from django.urls import include, path

from trading_demo.alpaca.urls import urlpatterns as v2_patterns

urlpatterns = [path("v2/", include((v2_patterns, "alpaca-schema")))]
