from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading_demo.pages import manager_required


@manager_required
def approvals(request: HttpRequest) -> HttpResponse:
    return render(request, "oversight/approvals.html")
