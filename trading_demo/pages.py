"""Decorators for pages: who may open them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from trading_demo.models import User

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    """A page request as django-htmx's middleware leaves it (django-htmx's example app types
    views this way instead of ignoring `request.htmx`)."""

    htmx: HtmxDetails


class AuthedHtmxRequest(HtmxHttpRequest):
    """The same behind `login_required`/`manager_required`: `request.user` is a signed-in
    User, as django-stubs suggests typing it, rather than ignoring the AnonymousUser union."""

    user: User


def manager_required(view: View) -> View:
    """Signed-out visitors go to the login page; signed-in non-managers get 403."""

    @wraps(view)
    def wrapped(request: AuthedHtmxRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_manager:
            raise PermissionDenied("Managers only.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)
