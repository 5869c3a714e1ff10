"""Structured logs: every line one JSON object in production (a readable console line under
DEBUG), carrying the request id and the user id, with secrets dropped and e-mail addresses masked.

Django's loggers and ours stay plain `logging` loggers; the one handler formats every record
through structlog (`LOGGING` in settings comes from `logging_config`). `RequestContextMiddleware`
gives each request its id: a sane incoming `X-Request-ID`, else a new one, echoed in the response.

Client errors (4xx) are one line each: Django attaches the exception's traceback to its
"Forbidden"/"Not Found" records, which says nothing an operator needs.
"""

from __future__ import annotations

import logging.config
import os
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# What a proxy or client may hand us as a request id: no spaces, quotes or control characters,
# so it is safe in a header and in a log line (UUIDs, nginx's $request_id, base64 ids).
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

REDACTED = "[redacted]"
# A key containing one of these names a secret, whatever its value looks like.
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "apca",
    "cookie",
    "session",
    "signature",
    "api_key",
    "csrf",
)
_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9_%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
# Secrets that can turn up inside a message: "Bearer <token>", a JWT, our personal API tokens.
_SECRET_IN_TEXT = (
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[\w.~+/=-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), REDACTED),
    (re.compile(r"\btd_[\w-]{8,}"), "td_" + REDACTED),
)
_MAX_DEPTH = 4

_request: ContextVar[HttpRequest | None] = ContextVar("trading_demo_request", default=None)


def mask_email(text: str) -> str:
    """`tess@example.com` → `t***@example.com`: enough to tell accounts apart in a log."""
    return _EMAIL.sub(r"\1***@\2", text)


def scrub_text(text: str) -> str:
    for pattern, replacement in _SECRET_IN_TEXT:
        text = pattern.sub(replacement, text)
    return mask_email(text)


def _is_secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping | list | tuple) and depth >= _MAX_DEPTH:
        return scrub_text(repr(value))  # too deep to walk: its text form, scrubbed
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key) else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    return value


def redact(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Drop every value stored under a secret's name; mask secrets and e-mails in text.

    Runs on the rendered traceback too, so a secret or an address in an exception message is
    caught."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        if key != "event" and _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(value)
    return event_dict


def client_errors_in_one_line(
    logger: WrappedLogger, method: str, event_dict: EventDict
) -> EventDict:
    status = event_dict.get("status_code")
    if isinstance(status, int) and status < 500:
        event_dict.pop("exc_info", None)
    return event_dict


def _user_id(request: HttpRequest) -> str | None:
    """The signed-in user's id, if the request has already resolved who that is: a log call
    must never be the thing that runs the session or token lookup."""
    from django.utils.functional import SimpleLazyObject, empty

    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    if getattr(user, "is_authenticated", False):
        return str(user.pk)
    return None


def add_request(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The request id and user id of the request this line is about: the one Django passes with
    its request records, else the one being served on this thread."""
    passed = getattr(event_dict.get("_record"), "request", None)
    request: HttpRequest | None
    if passed is not None and hasattr(passed, "META"):
        request = passed
        event_dict.setdefault("method", passed.method)
        event_dict.setdefault("path", passed.path)
    else:
        request = _request.get()
    if request is None:
        return event_dict
    event_dict.setdefault("request_id", request.META.get(REQUEST_ID_META))
    user_id = _user_id(request)
    if user_id is not None:
        event_dict.setdefault("user_id", user_id)
    return event_dict


def _processors(*, json: bool) -> tuple[list[Processor], list[Processor]]:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(allow=["status_code"]),
        add_request,
        client_errors_in_one_line,
    ]
    # The traceback becomes text before `redact`, so secrets in it are caught as well.
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        redact,
        renderer,
    ]
    return shared, final


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The `()` factory LOGGING names: one formatter for every record, Django's and ours."""
    shared, final = _processors(json=json)
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)


def logging_config(*, json: bool, level: str) -> dict[str, Any]:
    """settings.LOGGING: one stderr handler at the root; Django's own loggers (which Django
    gives a console handler of their own under DEBUG, hence every line twice) only propagate."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "json": json}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
            "django.channels.server": {"level": "WARNING"},
        },
    }


def configure_process_logging(*, level: str) -> None:
    """For the processes without Django settings (the gRPC servers): the same lines as the
    app's, JSON unless LOG_FORMAT says `console` (or DEBUG is on and LOG_FORMAT is unset)."""
    debug = os.environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on")
    chosen = os.environ.get("LOG_FORMAT") or ("console" if debug else "json")
    logging.config.dictConfig(logging_config(json=chosen == "json", level=level.upper()))


def configure_structlog() -> None:
    """Loggers from `structlog.get_logger()` hand their events to the same stdlib handler."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def request_id_for(value: str | None) -> str:
    """The incoming id when it is sane, else a new one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return os.urandom(16).hex()  # a random 128-bit id, as uuid4 but several times cheaper


class RequestContextMiddleware:
    """First in MIDDLEWARE: the request id is settled before anything can log or answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.META.get(REQUEST_ID_META))
        request.META[REQUEST_ID_META] = request_id
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
