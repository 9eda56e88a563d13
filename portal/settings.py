"""Settings for 政务通, read from the environment.

Embedded default: SQLite (WAL) and the in-memory channel layer in one daphne process.
Production: DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis and the shared cache).
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-change-me-for-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

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
    "channels",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "sms",
    "departments",
    "chat",
    "cases",
    "oversight",
    "faq",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "infra.middleware.RejectMalformedInput",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.second_factor.RequireSecondFactor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"

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

# Databases --------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Keep database connections between requests and websocket frames (health-checked before reuse).
# Measured (docs/benchmarks.md): reconnecting for every database_sync_to_async call cost 232 ms of server
# CPU per chat message on PostgreSQL, against 12 ms with persistent connections.
DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "600"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
                # writers queue on the busy timeout instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
            "CONN_MAX_AGE": DB_CONN_MAX_AGE,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer and cache ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # The pub/sub layer by default (REDIS_CHANNEL_LAYER=core for the other; docs/benchmarks.md): one PUBLISH per group send
    # whatever the group's size, no per-socket sorted sets, subscriptions restored by itself after a Redis
    # restart, and no burst of pool connections (the core layer's pool refused "Too many connections" past
    # 100 at once). Pub/sub does not buffer for absent listeners; clients resume from the database anyway.
    if os.environ.get("REDIS_CHANNEL_LAYER", "pubsub") == "pubsub":
        CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 60},
            }
        }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Channels' in-memory layer without its per-event scan of every socket (chat/inmemory_layer.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "chat.inmemory_layer.IndexedInMemoryChannelLayer"}}
    # One process in the embedded setup, so a process-local cache is shared by everything that needs it.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Accounts -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (username, address) pair before any password is checked.
    "portal.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login lockout (django-axes) on the portal login and /admin/login/: five failures of one username from
# one address lock that pair for 15 minutes, so nobody can lock another person out from their own address.
# Lockouts are listed (and lifted by deleting them) in the admin under "Axes".
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "infra.client.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "security/locked_out.html"
AXES_VERBOSE = False
# A second factor (TOTP, django-otp) for the information center and admins; for officers too when set.
# With DEBUG on, the accounts seed_demo created (group SECOND_FACTOR_DEMO_GROUP) may skip it.
SECOND_FACTOR_REQUIRED = env_bool("SECOND_FACTOR_REQUIRED", True)
OTP_REQUIRED_FOR_OFFICERS = env_bool("OTP_REQUIRED_FOR_OFFICERS", False)
OTP_TOTP_ISSUER = "政务通"
# The published password of the demo accounts (demo/demo_data.py); `check --deploy` fails while an
# account seeded by the demo still has it.
DEMO_PASSWORD = "zwt-demo-2026"

if env_bool("FAST_PASSWORD_HASHER", False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Rate limits: (attempts, seconds) per key.
RATE_LIMITS = {
    "register": (10, 3600),
    "account_delete": (5, 300),  # password guesses on 注销账户, per account
    "chat_message": (int(os.environ.get("RATE_CHAT_MESSAGES", "20")), 10),
    "public_lookup": (int(os.environ.get("RATE_PUBLIC_LOOKUPS", "10")), 60),
    "lookup_number": (10, 3600),  # failed case lookups of one tracking number, from any address
    "faq_suggest": (30, 60),  # FAQ suggestions under the chat box, fired as a citizen types
    # Any websocket frame, per socket (counted in the process that holds it): typing and read receipts included.
    "ws_frame": (int(os.environ.get("RATE_WS_FRAMES", "120")), 10),
    # SMS codes a day (docs/sms.md), per mobile number and per client address (raise the latter when many
    # citizens share one address, e.g. a carrier's NAT).
    "sms_code_phone": (int(os.environ.get("RATE_SMS_CODES", "10")), 86400),
    "sms_code_address": (int(os.environ.get("RATE_SMS_CODES_PER_ADDRESS", "10")), 86400),
}

# SMS (docs/sms.md) ---------------------------------------------------------------------------------
# sms.backends.outbox.OutboxBackend (embedded: the admin's 短信发送记录 and the server log),
# sms.backends.aliyun.AliyunBackend or sms.backends.tencent.TencentBackend.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "sms.backends.outbox.OutboxBackend")
# "thread": every daphne process sends from a background thread; "off": run `manage.py sms_worker`.
SMS_WORKER = os.environ.get("SMS_WORKER", "thread")
# The portal's public address, for the links in notices.
SMS_SITE_URL = os.environ.get("SMS_SITE_URL", "http://127.0.0.1:8000")

# Language and time ----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# Static files -------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# daphne serves the static files itself through WhiteNoise, from the app folders when DEBUG is on.
WHITENOISE_USE_FINDERS = DEBUG

# Security -----------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
# Behind the reverse proxy in deploy/, the client address is the last X-Forwarded-For hop
# (infra/client.py); TRUSTED_PROXIES (addresses, comma-separated) narrows whose header is believed.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")

# Domain settings ------------------------------------------------------------------------------------
# Wait after which a queued citizen is told the officers are busy and the question is kept.
QUEUE_BUSY_NOTICE_SECONDS = int(os.environ.get("QUEUE_BUSY_NOTICE_SECONDS", "120"))
# The end of the working day for a due moment when no window's duty hours apply (departments.calendar).
DEFAULT_DUTY_END = "17:00"
# An officer whose desk sent no heartbeat for this long counts as offline.
PRESENCE_TIMEOUT_SECONDS = int(os.environ.get("PRESENCE_TIMEOUT_SECONDS", "60"))
# A chat page counts as open (在页面上) while its socket's process refreshed it less than this long ago;
# each daphne process refreshes all of its open chat pages in one statement every
# CITIZEN_REFRESH_SECONDS, so the pages of a process that died go stale and are swept as left.
CITIZEN_PRESENCE_SECONDS = int(os.environ.get("CITIZEN_PRESENCE_SECONDS", "70"))
CITIZEN_REFRESH_SECONDS = int(os.environ.get("CITIZEN_REFRESH_SECONDS", "20"))
# How often the chat page sends its `ping` frame; 0 (the default): never. The page then only answers the
# server's websocket protocol pings (daphne's --ping-interval 50 s, --ping-timeout 30 s; the browser
# answers them by itself), which keep its socket and drop a peer that stops answering: at 30,000 open
# pages, a frame per page through Channels cost more than the chats (docs/benchmarks.md, issue 16).
CHAT_PING_SECONDS = int(os.environ.get("CHAT_PING_SECONDS", "0"))
CHAT_MESSAGE_MAX_LENGTH = 2000
# A socket that sends nothing for this long is closed (the desk heartbeats every 20 s; a chat page
# that pings is given at least three of its intervals; both reconnect by themselves); 0 turns the
# check off. Chat pages that do not ping (CHAT_PING_SECONDS=0) are left to the protocol pings.
WS_IDLE_TIMEOUT_SECONDS = int(os.environ.get("WS_IDLE_TIMEOUT_SECONDS", "90"))
# Each server process moves long-lived objects out of the cyclic collector's view this often, and
# runs one full collection every GC_FULL_COLLECTION_SECONDS (infra/collector.py); 0 turns it off.
GC_FREEZE_SECONDS = float(os.environ.get("GC_FREEZE_SECONDS", "10"))
GC_FULL_COLLECTION_SECONDS = float(os.environ.get("GC_FULL_COLLECTION_SECONDS", "600"))
# CASE_DUE_WORKING_DAYS may override the working days a case (转办件) has, by target (cases.actions).
# How long transcripts are kept; `manage.py purge_expired` deletes older closed months, keeping their figures.
TRANSCRIPT_RETENTION_DAYS = int(os.environ.get("TRANSCRIPT_RETENTION_DAYS", "730"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# Spreadsheet exports: XLSX and CSV only (no HTML or JSON of citizens' text), every cell through
# infra.spreadsheet.safe_cell.
from import_export.formats.base_formats import CSV, XLSX  # noqa: E402  (plain classes; no app needed)

IMPORT_EXPORT_FORMATS = [XLSX, CSV]
