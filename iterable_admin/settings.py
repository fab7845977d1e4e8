"""Settings for the Iterable notifications admin.

Every value comes from the environment. The defaults are the embedded mode (a laptop, CI): SQLite under
./data, DEBUG on only when asked for. Production sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=0.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# The embedded default gets a key generated once and kept under DATA_DIR, so a laptop never runs on a
# key that is public in this repository; production must set SECRET_KEY itself.
# catalog/checks.py makes `check --deploy` fail when production runs on such a generated key.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
SECRET_KEY_FROM_ENV = bool(SECRET_KEY)
if not SECRET_KEY:
    from django.core.management.utils import get_random_secret_key

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog.workers",  # before django_q: its qcluster command (bounded stop on SIGTERM) replaces django_q's
    "django_q",
    "axes",
    "csp",
    "catalog",
]

MIDDLEWARE = [
    "catalog.observability.RequestIdMiddleware",
    "catalog.observability.DatabaseUnavailableMiddleware",
    "catalog.middleware.IterableBudgetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Iterable's webhook posts leave the stack here: none of what follows applies to them (see the module).
    "catalog.health.fastpath.WebhookFastPathMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "catalog.middleware.SessionIdleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the database-outage middleware, so a guard refusal is answered before it is taken for an outage.
    "catalog.middleware.GuardRefusalMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username from one address,
# that pair is locked out for the cool-off time. API tokens are not passwords and are not throttled here.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading a user's and their groups' permissions in one query.
    "catalog.auth_backends.OneQueryModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("LOGIN_LOCKOUT_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("BEHIND_PROXY", False) else 0

# Content-Security-Policy: everything from this origin, no inline script or style, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Where a project's API key may be sent besides Iterable's US and EU hosts, as scheme://host[:port] origins
# (no port: any port of that host). Production leaves it empty; the demo and the tests list the emulator.
# The client reads the same variable (catalog/iterable/client.py) so that it refuses on its own too.
ITERABLE_ALLOWED_HOSTS = env_list("ITERABLE_ALLOWED_HOSTS", "")
# The time every Iterable call made inside one web request shares, retries included: above one attempt's
# read timeout (15 s), well below gunicorn's --timeout (README, Production), so a page answers with a sentence.
ITERABLE_REQUEST_BUDGET_SECONDS = float(os.environ.get("ITERABLE_REQUEST_BUDGET_SECONDS", "20"))

# Test recipients anyone may add for themselves without a second person's approval: their own login
# address, and addresses at these staff domains (comma-separated, e.g. "example.com,example.org").
TEST_RECIPIENT_DOMAINS = [d.lower().lstrip("@") for d in env_list("TEST_RECIPIENT_DOMAINS", "")]
# The guard's verdict says "not checked in Iterable since ..." instead of "ok" once a project's last
# successful sync is older than this: the hourly sync, plus a quarter of an hour for a slow run.
ITERABLE_CHECK_STALE_MINUTES = int(os.environ.get("ITERABLE_CHECK_STALE_MINUTES", "75"))

# API tokens: the longest a token may live, and what one gets when no expiry is chosen.
API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", "90"))
# Refused API tokens per client address: after N in a window of S seconds ("N/S"), 429 until the window ends.
API_TOKEN_FAILURE_LIMIT = tuple(int(part) for part in os.environ.get("API_TOKEN_FAILURE_LIMIT", "20/60").split("/"))

# The deep health check (Iterable reachability) per client address: N checks per S seconds ("N/S").
HEALTH_DEEP_RATE_LIMIT = tuple(int(part) for part in os.environ.get("HEALTH_DEEP_RATE_LIMIT", "6/60").split("/"))

# Test sends per user: at most N sends in a sliding window of S seconds ("N/S").
PROOF_SEND_RATE_LIMIT = tuple(int(part) for part in os.environ.get("PROOF_SEND_RATE_LIMIT", "10/60").split("/"))

# A proxy's X-Request-ID is trusted only when the deployment says a proxy sets it.
TRUST_REQUEST_ID_HEADER = env_bool("TRUST_REQUEST_ID_HEADER", False)

ROOT_URLCONF = "iterable_admin.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "iterable_admin.wsgi.application"

# SQLite is the embedded default. WAL and a busy timeout keep django-q2's ORM broker and the web
# process from tripping over "database is locked"; IMMEDIATE transactions take the write lock up front.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Mail goes out only when a server is configured (EMAIL_HOST, or EMAIL_BACKEND); password reset needs mail,
# so it is off until then (its pages answer 404 rather than promise a mail that cannot be sent).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "iterable-admin@localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.dummy.EmailBackend",
)
# Whether mail can go out at all (with the dummy backend, send_mail succeeds and nothing is sent).
MAIL_CONFIGURED = EMAIL_BACKEND != "django.core.mail.backends.dummy.EmailBackend"
PASSWORD_RESET_ENABLED = MAIL_CONFIGURED

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:home"
LOGOUT_REDIRECT_URL = "login"

# Security: production values unless DEBUG; each can be relaxed from the environment behind a proxy
# that terminates TLS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# An inactivity timeout: requests push the expiry back (catalog.middleware.SessionIdleMiddleware saves the
# session at most once a minute), so a session idle this long is over.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", str(3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = False

# DRF's defaults are AllowAny, Basic auth and unpaginated lists: each is set here on purpose.
# Token auth comes first so an anonymous request gets 401 with a WWW-Authenticate header, not 403.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.api.permissions.RolePermissions"],
    "DEFAULT_PAGINATION_CLASS": "catalog.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["catalog.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["catalog.api.throttling.UserThrottle", "catalog.api.throttling.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_THROTTLE_USER", "1200/min"),
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
    },
    "EXCEPTION_HANDLER": "catalog.api.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Iterable notifications admin API",
    "DESCRIPTION": (
        "The notifications catalog for scripts. Authenticate with `Authorization: Bearer <token>` "
        "(create tokens at /api/tokens/). Errors always have the shape "
        '`{"errors": [{"field": ..., "code": ..., "message": ...}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["catalog.api.permissions.CanReadCatalog"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.api.schema.add_error_responses",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"; the test recipient's gets its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "RecipientStatusEnum": "catalog.models.RecipientStatus",
        "ViolationSourceEnum": ["catalog", "iterable"],
        "PreferenceImportSourceEnum": "catalog.models.PreferenceImport.Source",
        "PreferenceImportStatusEnum": "catalog.resync.models.PreferenceImportStatus",
        "NotificationStatusEnum": "catalog.models.NotificationStatus",
    },
}

# django-q2: the ORM broker on the main database (acknowledged, at-least-once). The defaults retry a
# failed task forever, so every limit is explicit; retry must exceed timeout or a long task runs twice.
Q_CLUSTER = {
    "name": "iterable_admin",
    "orm": "default",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": int(os.environ.get("Q_TIMEOUT", "600")),
    "retry": int(os.environ.get("Q_RETRY", "720")),
    "max_attempts": int(os.environ.get("Q_MAX_ATTEMPTS", "3")),
    "ack_failures": True,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
}

# Logs: one JSON object a line in production (LOG_FORMAT=json), plain text on a laptop; every line carries
# the request id, which also follows the work into tasks (catalog/observability.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "catalog.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("LOG_FORMAT", "plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Where the embedded emulator listens, for the demo project (the database stores only env var names).
ITERABLE_EMULATOR_URL = os.environ.get("ITERABLE_EMULATOR_URL", "")

# The PostgreSQL role a seed job's query runs as (SET LOCAL ROLE): one that may only read. The app's database
# user must be a member of it (GRANT pg_read_all_data TO <user>).
JOBS_QUERY_ROLE = os.environ.get("JOBS_QUERY_ROLE", "pg_read_all_data")
