"""Slack's interactive buttons (being written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=401)
