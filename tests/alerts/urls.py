"""The project's URLs with the alerts URLs in front (the API's catch-all 404 must come after
them), until trading_demo/urls.py includes them itself."""

from __future__ import annotations

from django.urls import include, path

from alerts import urls as alerts_urls
from trading_demo import urls as project_urls

urlpatterns = [
    path("api/", include(alerts_urls.api_urlpatterns)),
    path("", include(alerts_urls.page_urlpatterns)),
    *project_urls.urlpatterns,
]
