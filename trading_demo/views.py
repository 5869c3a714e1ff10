"""Shell pages: sign-in, settings, the health endpoint and the footer's status lights."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from trades.models import MarketSession
from trading_demo import health
from trading_demo.errors import DomainError, error_body
from trading_demo.models import Severity, Theme, User
from trading_demo.pages import AuthedHtmxRequest
from trading_demo.selectors import api_tokens_for
from trading_demo.services import (
    api_token_create,
    api_token_revoke,
    preferences_update,
    time_zone_report,
)
from trading_demo.throttling import LoginRateThrottle
from trading_demo.timezones import zone_choices


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password.",
        "rate_limited": "Too many sign-in attempts. Wait a minute and try again.",
    }

    def clean(self) -> dict[str, Any]:
        if self.request is not None and not LoginRateThrottle().allow_page(self.request):
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        return super().clean()


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


async def healthz(request: HttpRequest) -> JsonResponse:
    results = await health.run_all()
    healthy = all(result.ok for result in results)
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": {
            result.name: {
                "ok": result.ok,
                "detail": result.detail,
                "latency_ms": result.latency_ms,
            }
            for result in results
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
@login_required
def status_lights(request: AuthedHtmxRequest) -> HttpResponse:
    results = async_to_sync(health.run_all)()
    # The session clock rides along: the open session as the market process keeps it (read
    # only: a page never opens one).
    session = MarketSession.objects.filter(closed_at__isnull=True).order_by("-opened_at").first()
    return render(
        request,
        "trading_demo/base.html#status-lights",
        {"checks": results, "session": session},
    )


def _settings_context(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "tokens": api_tokens_for(user=user)[:100],
        "time_zones": zone_choices(),
        "themes": Theme.choices,
        "severities": Severity.choices,
        **extra,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        try:
            preferences_update(
                user=user,
                theme=request.POST.get("theme"),
                toast_min_severity=request.POST.get("toast_min_severity"),
                slack_min_severity=request.POST.get("slack_min_severity"),
                time_zone=request.POST.get("time_zone"),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Preferences saved.")
        if request.htmx:
            # The theme is on <html>: a full refresh is the honest way to apply it.
            return HttpResponseClientRefresh()
        return redirect("settings")
    return render(request, "trading_demo/settings.html", _settings_context(user))


@login_required
@require_POST
def time_zone_detected(request: AuthedHtmxRequest) -> HttpResponse:
    """Where static/js/app.js reports the browser's zone, once, for a user who chose none."""
    user = request.user
    try:
        kept = time_zone_report(user=user, time_zone=request.POST.get("time_zone", ""))
    except DomainError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    # 200 when a zone was chosen already: nothing to show again (not an error: two tabs report).
    return HttpResponse(status=204 if kept else 200)


@never_cache
@login_required
@require_POST
def token_create(request: AuthedHtmxRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {}
    try:
        token, key = api_token_create(user=user, name=request.POST.get("name", ""))
    except DomainError as exc:
        context["token_error"] = exc.message
    else:
        context["new_token"] = {"name": token.name, "key": key, "key_id": token.key_id}
    if request.htmx:
        return render(
            request, "trading_demo/settings.html#tokens", _settings_context(user, **context)
        )
    return render(request, "trading_demo/settings.html", _settings_context(user, **context))


@login_required
@require_POST
def token_revoke(request: AuthedHtmxRequest, token_id: Any) -> HttpResponse:
    user = request.user
    try:
        api_token_revoke(user=user, token_id=token_id)
    except DomainError as exc:
        if exc.code == "not_found":
            return HttpResponse("No such token.", status=404)
        raise
    if request.htmx:
        return render(request, "trading_demo/settings.html#tokens", _settings_context(user))
    return redirect("settings")
