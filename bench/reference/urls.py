from __future__ import annotations

from django.urls import path

from bench.reference.views import PingApi, TicketCreateApi

urlpatterns = [
    path("tickets", TicketCreateApi.as_view()),
    path("ping", PingApi.as_view()),
]
