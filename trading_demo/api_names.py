"""Names of API views in the browsable API's title and breadcrumbs.

DRF derives them from the class name, which reads like code: "Order List Create Api", and
"Api Not Found" in the breadcrumb of every unknown address. A view may set `view_name`; else the
name is the class's resource, without the "Api" suffix and the verbs that describe the class
rather than the resource."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.views import get_view_name as drf_view_name

VERBS = ("ListCreate", "List", "Create", "Retrieve", "Update", "Destroy", "Detail", "Revoke")


def get_view_name(view: Any) -> str:
    name = getattr(view, "view_name", None)
    if name:
        return str(name)
    cls = type(view).__name__
    if cls == "ApiNotFound":
        # The catch-all under /api/: the breadcrumbs resolve /api/ itself to it.
        return "API"
    if not cls.endswith("Api"):
        return drf_view_name(view)  # type: ignore[no-any-return]
    stem = cls.removesuffix("Api")
    plural = False
    for verb in VERBS:
        if stem.endswith(verb) and stem != verb:
            stem = stem.removesuffix(verb)
            plural = verb.startswith("List")
            break
    words = re.findall(r"[A-Z][a-z0-9]*|[A-Z]+(?![a-z])", stem) or [stem]
    text = " ".join(words).lower().replace("api ", "API ")
    if plural and not text.endswith("s"):
        text += "s"
    if getattr(view, "suffix", None):
        text = f"{text} {view.suffix.lower()}"
    return text[:1].upper() + text[1:]
