"""Settings, all read from the environment (see the configuration table in README.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from metering.quota_rules import QuotaThresholds
from trading_demo.addresses import local_url
from trading_demo.clientip import parse_networks
from trading_demo.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (make run and make test set DEBUG=1 for you)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_htmx",
    "axes",
    "trading_demo",
    "trades",
    "portfolio",
    "metering",
    "alerts",
    "oversight",
]

MIDDLEWARE = [
    "trading_demo.metrics.MetricsMiddleware",
    "trading_demo.logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "trading_demo.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "trading_demo.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "trading_demo.timezones.UserTimezoneMiddleware",
    "trading_demo.throttling.RateLimitHeadersMiddleware",
    # Last, as axes asks: it turns a locked-out sign-in page into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Only its process_view runs after axes (its __call__ passes through): it runs API views
    # itself, to bill them once their status is known, so no other process_view may follow.
    "metering.billing.BillingMiddleware",
]

# What a cookie-less API call skips (trading_demo/lanes.py): static files, the session and
# what rides on it (CSRF, request.user, messages, axes' lockout page), HTMX, the page time zone.
BROWSER_ONLY_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
        "trading_demo.timezones.UserTimezoneMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)
API_LANE_MIDDLEWARE = [name for name in MIDDLEWARE if name not in BROWSER_ONLY_MIDDLEWARE]

ROOT_URLCONF = "trading_demo.urls"
WSGI_APPLICATION = "trading_demo.wsgi.application"
ASGI_APPLICATION = "trading_demo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "trading_demo.context_processors.shell",
            ],
        },
    },
]

# SQLite by default. IMMEDIATE transactions take the write lock at BEGIN, so a read-then-write
# (check cash, then spend it) cannot be overtaken by another writer, and waiting writers queue on
# the busy timeout instead of failing with "database is locked" halfway through.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'trading_demo.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, with one queue of writers across processes (trading_demo/sqlite).
    DATABASES["default"]["ENGINE"] = "trading_demo.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_trading_demo.sqlite3")}
    # Each server thread keeps its connection: opening one runs the PRAGMAs above.
    DATABASES["default"]["CONN_MAX_AGE"] = None
else:
    DATABASES["default"]["ENGINE"] = "trading_demo.postgresql"
    # A bounded pool per process (psycopg's), shared by its threads: processes x DB_POOL_SIZE
    # connections at most, however many requests wait.
    # Parameters are bound by the server, not quoted into the SQL by psycopg, so each pooled
    # connection prepares a statement it has run twice and runs it from then on without
    # parsing and planning it again (Django turns both off by default, for poolers in
    # transaction mode, which we do not use). Measured in alternating 10 s rows of the benchmark's
    # orders: 36 -> 51 orders/s at one connection, PostgreSQL's CPU per order 7.7 -> 4.4 ms.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": 2,
        "pool": {
            "min_size": 1,
            "max_size": env.int("DB_POOL_SIZE", default=8),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        },
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "trading_demo.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # The pub/sub layer: measured 0.41 s p99 fan-out to 1,000 sockets where the core layer ran
    # out of connections (ARCHITECTURE.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "trading_demo",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# axes' backend first: it refuses a locked-out account or address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Brute-force protection on every sign-in path (trading_demo/logins.py): LOGIN_FAILURE_LIMIT
# failed passwords per account, and separately per client address, lock that account or address
# for LOGIN_COOLOFF_MINUTES.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "trading_demo.clientip.client_address"
AXES_USERNAME_CALLABLE = "trading_demo.logins.login_account"
AXES_LOCKOUT_CALLABLE = "trading_demo.logins.lockout_response"
AXES_HANDLER = "trading_demo.logins.AuditedAxesHandler"
# A success must not wipe the address's failures: an attacker holding one real account could
# otherwise sign in to it between guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). Empty: the peer's own
# address is the client's, whatever headers it sends (trading_demo/clientip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Requests over 64 KB are refused before any parsing (ApiBodyLimitMiddleware for the API).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
API_MAX_BODY_BYTES = 64 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trading_demo.authentication.ApiTokenAuthentication",
        "trading_demo.authentication.UserJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["trading_demo.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "trading_demo.negotiation.ContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "trading_demo.throttling.ApiUserRateThrottle",
        "metering.billing.QuotaGate",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_RATE_LIMIT", default="100/min"),
        "login": env.str("LOGIN_RATE_LIMIT", default="20/min"),
    },
    "EXCEPTION_HANDLER": "trading_demo.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "trading_demo.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "VIEW_NAME_FUNCTION": "trading_demo.api_names.get_view_name",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Trading Demo API",
    "DESCRIPTION": "Paper trading with a simulated market, usage metering and human oversight.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"SeverityEnum": "trading_demo.models.Severity"},
    # The Alpaca routes (/v2/) have their own document at /v2/schema/.
    "PREPROCESSING_HOOKS": ["trading_demo.alpaca.schema.exclude_v2"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "trading_demo.schema.one_of_by_hook",
    ],
}

# Content Security Policy: no inline scripts or styles anywhere (htmx's own indicator styles are
# switched off in base.html and live in our stylesheet).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Where pages open their WebSocket: 0 = the page's own origin (one server, or behind one
# proxy as in docker-compose); `make run` serves sockets on their own port and sets it.
WS_PORT = env.int("WS_PORT", default=0)
if WS_PORT:
    SECURE_CSP["connect-src"] = [CSP.SELF, f"ws://*:{WS_PORT}", f"wss://*:{WS_PORT}"]
# The pages' port (`make run`'s PORT): with WS_PORT set, sockets accept pages from it only.
PAGE_PORT = env.int("PORT", default=8000)
# How often an open socket re-checks that its user and credential still hold (privileged
# events are re-checked on every delivery as well), and how many messages a client may send:
# a token bucket of WS_MESSAGE_BURST refilled at WS_MESSAGE_RATE per second.
WS_ACCESS_RECHECK_SECONDS = env.float("WS_ACCESS_RECHECK_SECONDS", default=15.0)
WS_MESSAGE_RATE = env.float("WS_MESSAGE_RATE", default=10.0)
WS_MESSAGE_BURST = env.int("WS_MESSAGE_BURST", default=100)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Behind the TLS-terminating proxy (docker-compose's nginx) set HTTPS=1.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (HTTPS=1).")
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The container's HEALTHCHECK asks over plain HTTP from inside; a redirect would fail it.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

METERING_GRPC_URL = env.str("METERING_GRPC_URL", default="127.0.0.1:50051")
OVERSIGHT_GRPC_URL = env.str("OVERSIGHT_GRPC_URL", default="127.0.0.1:50052")
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="trading-demo")
APPROVAL_TIMEOUT = env.int("APPROVAL_TIMEOUT", default=15 * 60)
# Where people reach this deployment: links in Slack messages point here. Unset, it is where
# `make run` serves the pages (HOST and PORT), so moving PORT moves the links too.
PUBLIC_URL = env.str("PUBLIC_URL", default=local_url()).rstrip("/")
# Page origins a socket opened with a session cookie may come from, besides its own origin
# and the pages' port (trading_demo/wsorigin.py).
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=[PUBLIC_URL, *CSRF_TRUSTED_ORIGINS])

# /metrics answers staff sessions, and scrapers sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters.")

# One JSON object per line in production; a readable line under DEBUG (LOG_FORMAT overrides).
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'console'.")
LOGGING = logging_config(json=LOG_FORMAT == "json", level=env.str("LOG_LEVEL", default="INFO"))

# Trading defaults (ARCHITECTURE.md "Defaults").
STARTING_CASH = env.str("STARTING_CASH", default="100000.00")
PRICE_COLLAR_PCT = env.int("PRICE_COLLAR_PCT", default=10)
MAX_ORDER_QUANTITY = env.int("MAX_ORDER_QUANTITY", default=1_000_000)
# The longest an order waits for its risk score (and, when HIGH, for its approval request to be
# registered); past it the order is refused with 503 and nothing is stored.
ORDER_TIMEOUT_SECONDS = env.float("ORDER_TIMEOUT_SECONDS", default=3.0)
CONFIRM_ORDER_EQUITY_PCT = env.int("CONFIRM_ORDER_EQUITY_PCT", default=10)
# The simulated market: a seeded geometric random walk every MARKET_TICK_SECONDS; each real
# second stands for MARKET_TIME_SCALE seconds of a trading year, so prices move visibly.
MARKET_SEED = env.int("MARKET_SEED", default=20251226)
MARKET_TICK_SECONDS = env.float("MARKET_TICK_SECONDS", default=1.0)
MARKET_TIME_SCALE = env.float("MARKET_TIME_SCALE", default=60.0)
MARKET_SESSION_MINUTES = env.int("MARKET_SESSION_MINUTES", default=60)
MARKET_MAKER_LEVELS = env.int("MARKET_MAKER_LEVELS", default=5)
BOOK_EVENT_INTERVAL_SECONDS = env.float("BOOK_EVENT_INTERVAL_SECONDS", default=0.25)

# Metering: unit prices in USD per operation, and the default monthly quota.
METERING_PRICES = {
    "trade.execute": "0.01",
    "trade.cancel": "0.001",
    "portfolio.get": "0.001",
    "api.call": "0.001",
}
METERING_DEFAULT_QUOTA = env.int("METERING_DEFAULT_QUOTA", default=10_000)
# Quota warning and critical thresholds (METERING_QUOTA_WARNING_PCT / _CRITICAL_PCT, 80 and
# 95): the rule lives in metering/quota_rules.py, which the metering gRPC server reads too.
METERING_QUOTA_THRESHOLDS = QuotaThresholds.from_env()
# Alerts at or above this severity go to Slack (and, for a user's own alerts, at or above the
# user's own Slack preference too).
ALERTS_SLACK_MIN_SEVERITY = env.str("ALERTS_SLACK_MIN_SEVERITY", default="high")
