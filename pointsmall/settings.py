"""Settings for the points mall, read from the environment (django-environ).

With no variables at all the mall runs on embedded defaults: SQLite, a local-memory
cache, Celery tasks executed in-process and e-mail printed to the console. Setting
DATABASE_URL moves it to Postgres; REDIS_URL turns on the Redis cache, cached
sessions and the Celery broker. See README.md for the full list.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.keyed_hash import development_key, keyring_parse
from pointsmall.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

if DEBUG:
    # A fixed key is fine for a local demo; production must bring its own.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-dev-only-key-do-not-use-in-production")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.weixin",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "django_celery_beat",
    "csp",
    "django_htmx",
    "simple_history",
    "accounts",
    "points",
    "catalog",
    "tasks",
    "lottery",
    # Project-level apps: they may read every app (the project), no app imports them.
    "pointsmall.content",
    "pointsmall.analytics",
    "pointsmall.dashboard",
    "pointsmall.integration",
    "pointsmall.audit",
    # The job outbox (docs/decisions/0038): like the kernel it imports no app; every app may use it.
    "pointsmall.outbox",
    "ninja",  # the host API's OpenAPI document and its browsable docs (static Swagger UI, no CDN)
    "pointsmall",  # project-wide management commands (seed_demo)
]

MIDDLEWARE = [
    # Echoes the request id (set when the request starts) in X-Request-ID; docs/decisions/0041.
    "pointsmall.logs.RequestIdMiddleware",
    # /healthz and /readyz are answered before anything else: no HTTPS redirect, host check,
    # session, CSRF or page-view count for a probe (docs/decisions/0036).
    "pointsmall.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The redeem request's front door: a flash item's units reserved on arrival, "sold out" and
    # "busy" (admission) answered from Redis before the session, the member, CSRF and messages
    # cost anything (issue #18, docs/decisions/0044).
    "catalog.middleware.RedeemGateMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ProfileLanguageMiddleware",
    # The device cookie, a fraud signal for referrals (docs/decisions/0056). After auth: members get one.
    "accounts.devices.DeviceCookieMiddleware",
    "pointsmall.limits.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After auth (the member) and htmx (partials are not page views); docs/decisions/0028.
    "pointsmall.analytics.middleware.PageViewMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "pointsmall.middleware.AdminAccessMiddleware",
    "pointsmall.headers.PrivatePagesMiddleware",
    # Turns a hot path's BusyError into 503 + Retry-After (docs/decisions/0044). Last: its
    # process_exception runs first, and the busy page then passes through every middleware above
    # (the member's language, security headers, no caching of a private page).
    "pointsmall.admission.BusyMiddleware",
    # Turns a RateLimitedError into 429 + Retry-After (docs/decisions/0051); last for the same reason.
    "pointsmall.throttle.RateLimitMiddleware",
]

ROOT_URLCONF = "pointsmall.urls"

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
                "django.template.context_processors.i18n",
                "pointsmall.context_processors.shell",
            ],
        },
    },
]

WSGI_APPLICATION = "pointsmall.wsgi.application"

# --- Database -------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections pay off under gunicorn's few long-lived workers; the dev server
    # starts a thread per request and would keep one idle connection per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0 if DEBUG else 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo database: a write transaction takes SQLite's write lock when it begins, so
    # concurrent requests queue for it (up to 20 s) instead of failing "database is locked"
    # when two readers both try to upgrade to writers.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # Integers bounded as on Postgres, so the demo refuses what production refuses.
    DATABASES["default"]["ENGINE"] = "pointsmall.kernel.sqlite"
# Deliberately off: services own their transactions (docs/decisions/0003).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Tests with serialized_rollback reload the migrated rows after a flush. Content types and
# permissions are left out: a transactional test's flush re-creates them (post_migrate) under
# new primary keys, and reloading the old ones on top would break their unique keys.
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1

# --- Cache, sessions, Celery ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# A Redis outage degrades instead of failing (docs/decisions/0036): sessions are read from the
# database, rate-limit counters kept in each process, Redis retried after a pause.
CACHE_REDIS_TIMEOUT_SECONDS = env.float("CACHE_REDIS_TIMEOUT_SECONDS", default=0.25)
CACHE_REDIS_RETRY_SECONDS = env.float("CACHE_REDIS_RETRY_SECONDS", default=5.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "pointsmall.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_REDIS_TIMEOUT_SECONDS,
                "retry_seconds": CACHE_REDIS_RETRY_SECONDS,
            },
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The broker may be a Redis of its own (persistence on, maxmemory-policy noeviction: a queued job
# must not be evicted like a cache key), apart from the cache's LRU Redis; default: REDIS_URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://"
# Results are kept an hour in Redis so ops (and tests) can read what a job reported.
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 3600
# Without a broker, jobs run in-process so the demo needs nothing else running.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A crashed worker must delay a job by minutes, never drop it (docs/decisions/0039). Every job is
# declared with pointsmall.kernel.jobs.job (idempotent, these limits, retries with back-off).
# A pool process that dies mid-job (SIGKILL, out of memory) puts the job back on the queue at
# once instead of recording it as failed; a job that hits its hard time limit is not put back.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# On a lost broker connection a running job cannot be acknowledged and comes back after the
# visibility timeout anyway: stop it rather than have it run twice at once (Celery 6's default).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Every job's limits (seconds): the soft one raises inside the job, the hard one kills its process.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT_SECONDS", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT_SECONDS", default=300)
# Jobs over the whole ledger or membership (the expiry sweep, tiers, reminders, payouts). The sweep
# took 25–40 s for 500,000 due lots (docs/benchmarks.md): 20 minutes is ~30× that, room for a ledger
# ten times bigger on a busy database. Each batch commits on its own, so a stopped run loses nothing.
JOB_LONG_SOFT_TIME_LIMIT = env.int("CELERY_LONG_TASK_SOFT_TIME_LIMIT_SECONDS", default=1200)
JOB_LONG_TIME_LIMIT = env.int("CELERY_LONG_TASK_TIME_LIMIT_SECONDS", default=1260)
# Redis redelivers a job no worker acknowledged within this many seconds (a worker killed with
# its jobs, a lost host). It must outlast the longest hard limit (else a job still running is
# handed to a second worker) and every retry's countdown (a waiting retry is an unacknowledged
# message too): 30 minutes. Kombu's own default is an hour.
JOB_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=1800)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < JOB_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "need 0 < CELERY_TASK_SOFT_TIME_LIMIT_SECONDS < CELERY_TASK_TIME_LIMIT_SECONDS"
        " < CELERY_VISIBILITY_TIMEOUT_SECONDS"
    )
if not 0 < JOB_LONG_SOFT_TIME_LIMIT < JOB_LONG_TIME_LIMIT < JOB_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "need 0 < CELERY_LONG_TASK_SOFT_TIME_LIMIT_SECONDS < CELERY_LONG_TASK_TIME_LIMIT_SECONDS"
        " < CELERY_VISIBILITY_TIMEOUT_SECONDS"
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": JOB_VISIBILITY_TIMEOUT,
    # How often each worker looks for jobs past the visibility timeout: a tenth of it (at most
    # 30 s), every time (kombu's default looks only every 10th time, ~100 s).
    "unacked_restore_interval": max(1, min(30, JOB_VISIBILITY_TIMEOUT // 10)),
    "unacked_restore_throttle": 1,
    # The broker's sockets: connect within 0.5 s, a command answered within 1 s (kombu's default
    # waits forever on a Redis that accepts and never answers), so a publish after a request's
    # commit costs it a bounded moment when the broker is away (docs/decisions/0038).
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
}
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
# Seeds only the entries missing from the database and holds the one-beat lock (decision 0040).
CELERY_BEAT_SCHEDULER = "pointsmall.beat:GuardedDatabaseScheduler"
# Task modules outside <app>.jobs (the sandbox gateway's notifiers, the cash refund requests).
CELERY_IMPORTS = ["catalog.payment_jobs"]
# Beat creates the entries missing from django-celery-beat's tables on start and never changes a
# stored one, so operators' pauses and re-timings in admin survive restarts (docs/decisions/0040).
# Times are TIME_ZONE (business) times.
CELERY_BEAT_SCHEDULE = {
    # One name per job: the task and the management command name the same thing (``points.expire``
    # ↔ ``manage.py points_expire``). The entries keep their names: beat re-points a stored row
    # whose task is no longer registered at the task named here, and changes nothing else.
    "points-expire-due": {"task": "points.expire", "schedule": crontab(minute=5, hour=0)},
    "points-vest-due": {"task": "points.vest", "schedule": crontab(minute=10)},
    "points-expiry-reminders": {"task": "points.remind", "schedule": crontab(minute=0, hour=10)},
    "points-tiers-recalculate": {
        "task": "points.tiers_recalculate",
        "schedule": crontab(minute=30, hour=0, day_of_month=1),
    },
    "points-tiers-warn": {"task": "points.tiers_warn_downgrades", "schedule": crontab(minute=0, hour=11)},
    "catalog-cancel-unpaid": {"task": "catalog.orders_cancel_unpaid", "schedule": crontab(minute="*")},
    "catalog-refunds-retry": {"task": "catalog.cash_refunds_retry_due", "schedule": crontab(minute="*/5")},
    "tasks-checkin-remind": {"task": "tasks.checkin_remind", "schedule": crontab(minute=0)},
    # Tasks that became available (published, or their start time came) are announced every 10 minutes.
    "tasks-announce": {"task": "tasks.announce", "schedule": crontab(minute="*/10")},
    # Leaderboard: the snapshot every 10 minutes; last month's prizes on the 1st at 00:20.
    "tasks-leaderboard-refresh": {"task": "tasks.leaderboard_refresh", "schedule": crontab(minute="*/10")},
    "tasks-leaderboard-pay-monthly": {
        "task": "tasks.leaderboard_pay_monthly",
        "schedule": crontab(minute=20, hour=0, day_of_month=1),
    },
    # Lottery: reveal the seeds of ended campaigns (commit–reveal) every 10 minutes.
    "lottery-seeds-reveal": {"task": "lottery.seeds_reveal", "schedule": crontab(minute="*/10")},
    # Notification e-mails and SMS whose task was lost or whose retry is due.
    "accounts-deliveries-retry": {"task": "accounts.deliveries_retry", "schedule": crontab(minute="*")},
    # Announcements reach the inbox within a minute of their window opening.
    "content-announcements-publish": {"task": "content.announcements_publish", "schedule": crontab(minute="*")},
    # Operators' dashboard: today's and yesterday's figures every 10 minutes (decision 0031).
    "dashboard-rollup": {"task": "dashboard.rollup", "schedule": crontab(minute="*/10")},
    # Traffic: today's and yesterday's live counters into the daily tables every 10 minutes.
    "analytics-rollup": {"task": "analytics.rollup", "schedule": crontab(minute="*/10")},
    # Host checkout holds (积分抵扣) past their timeout give their points back within a minute.
    "points-holds-expire": {"task": "points.holds_expire", "schedule": crontab(minute="*")},
    # Webhooks whose task was lost or whose retry is due; used nonces past the signature window.
    "integration-webhooks-retry": {"task": "integration.webhooks_retry", "schedule": crontab(minute="*")},
    "integration-nonces-purge": {"task": "integration.nonces_purge", "schedule": crontab(minute=15)},
    # Jobs that must not be lost, still held for the broker (an outage); sent rows purged after a week.
    "outbox-jobs-relay": {"task": "outbox.jobs_relay", "schedule": crontab(minute="*")},
    "outbox-jobs-purge": {"task": "outbox.jobs_purge", "schedule": crontab(minute=40, hour=3)},
}

# --- Publishing with the broker away (issue #14 item 2, docs/decisions/0038) -------------
# A request publishes after its commit; with Redis away that must cost it a bounded moment,
# never the defaults' ~20 s (the Redis result backend's 20 reconnect tries of ~1 s each when a
# task is sent) or an unbounded wait on a Redis that accepts and never answers. Jobs that must
# not be lost are held in the job outbox meanwhile; nudges are redone by their sweeps.
# Connecting to the broker: at most 0.5 s (kombu's default 4 s).
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
# One immediate retry (a pooled connection gone stale after a Redis restart), not 3 × 0.2 s.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
# The broker's sockets: see CELERY_BROKER_TRANSPORT_OPTIONS above (connect 0.5 s, a command 1 s).
# The Redis result backend, which every send subscribes to: connect within 0.5 s, answer within
# 1 s (default 120 s), one immediate reconnect try instead of 20 one-second ones.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 0.5
CELERY_REDIS_SOCKET_TIMEOUT = 0.5
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 0}}
# After a failed publish, each process leaves the broker alone this long (pointsmall.kernel.publish):
# a hung broker costs one publish timeout per pause, not one per commit. Skipped nudges are sent by
# their sweeps, outbox jobs by the relay sweep.
JOB_PUBLISH_RETRY_SECONDS = env.float("CELERY_PUBLISH_RETRY_SECONDS", default=30.0)
# An outbox job published is published again if no worker reported it finished within this long
# (the broker lost it: a Redis restarted without its data). A queued job may legitimately wait a
# visibility timeout to be redelivered, plus its retries: twice the timeout.
JOB_OUTBOX_LEASE_SECONDS = 2 * JOB_VISIBILITY_TIMEOUT

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Confirming the e-mail signs the newcomer in (issue #17), but only in the browser session that
# signed up: allauth keeps the pending sign-in in that session, so a link opened elsewhere (another
# browser, a mail app's viewer, a forwarded mail) confirms the address and leads to the sign-in form
# with a notice. A leaked link never signs anyone in (docs/decisions/0061).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# The sign-up form adds the optional invite code (filled from an invite link).
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
# allauth's rate limits (its syntax: "count/period/per", per = ip, key (the e-mail), user; several
# comma-separated), made explicit settings here (docs/decisions/0051). Past one, allauth answers 429
# through handler429 (pointsmall.throttle). The others (sign-in, login codes...) keep allauth's defaults.
ACCOUNT_RATE_LIMITS = {
    "signup": env.str("SIGNUP_RATE_LIMIT", default="10/m/ip,60/h/ip"),
    "reset_password": env.str("PASSWORD_RESET_RATE_LIMIT", default="20/m/ip,5/m/key,20/h/key"),
    "reset_password_from_key": env.str("PASSWORD_RESET_FROM_KEY_RATE_LIMIT", default="20/m/ip"),
    "confirm_email": env.str("EMAIL_CONFIRMATION_RATE_LIMIT", default="1/3m/key,60/h/ip"),
}
# Rewarded invitations per inviter and month; sign-ups from one IP in an hour before they are held for review.
REFERRAL_MONTHLY_CAP = env.int("REFERRAL_MONTHLY_CAP", default=20)
REFERRAL_IP_HOURLY_LIMIT = env.int("REFERRAL_IP_HOURLY_LIMIT", default=5)
# Loyalty-fraud signals (docs/decisions/0056): a burst of sign-ups through one inviter's link, and
# redeem-and-cancel loops.
REFERRAL_BURST_COUNT = env.int("REFERRAL_BURST_COUNT", default=10)
REFERRAL_BURST_MINUTES = env.int("REFERRAL_BURST_MINUTES", default=60)
REDEEM_CANCEL_LOOP_COUNT = env.int("REDEEM_CANCEL_LOOP_COUNT", default=5)
REDEEM_CANCEL_LOOP_DAYS = env.int("REDEEM_CANCEL_LOOP_DAYS", default=7)
# One earning of at least this many points (a purchase, an award) puts a message in the member's inbox.
NOTIFY_POINTS_EARNED_MIN = env.int("NOTIFY_POINTS_EARNED_MIN", default=500)
# Behind the reverse proxy set this to 1, or every visitor has the proxy's IP (holds, rate limits).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Points Mall")
ADMIN_REQUIRE_MFA = env.bool("ADMIN_REQUIRE_MFA", default=not DEBUG)

# The payment PIN's peppers (docs/decisions/0042): "id:secret" entries, the current one first.
# PIN hashes are HMACs under a pepper the database does not hold; older peppers still verify
# (and the hash is rewritten under the current one on the member's next correct PIN) until
# removed. Required in production; in development a default derived from the secret key.
if DEBUG:
    PAYMENT_PIN_PEPPERS = keyring_parse(
        env.str("PAYMENT_PIN_PEPPERS", default="dev:" + development_key("PAYMENT_PIN_PEPPERS", SECRET_KEY)),
        setting="PAYMENT_PIN_PEPPERS",
    )
else:
    PAYMENT_PIN_PEPPERS = keyring_parse(env.str("PAYMENT_PIN_PEPPERS"), setting="PAYMENT_PIN_PEPPERS")

# --- I18N / time ----------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Our Chinese number format groups in threes with commas, as English does (12,345): decision 0058.
# USE_THOUSAND_SEPARATOR stays off: it would group every number a template prints (ids in links,
# years, widths in style attributes); member pages group amounts with humanize's intcomma.
FORMAT_MODULE_PATH = ["pointsmall.formats"]

# --- Static and media -------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic writes (the Procfile's release step); a benchmark collects into a temporary directory.
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Members' private uploads (feedback screenshots): never under MEDIA_ROOT nor served at MEDIA_URL;
# a view checks who asks (pointsmall.content.storage, docs/decisions/0030).
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "private_media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# --- Request bodies and uploads (docs/decisions/0018) ---------------------------------
# A whole request body, files included: over this, pointsmall.limits answers 413 before
# reading a byte (Content-Length) or stops reading once the files pass it (no length).
# Members: one 5 MB picture and its form. Staff: several product pictures or a code file.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=6 * 1024 * 1024)
REQUEST_BODY_MAX_BYTES_STAFF = env.int("REQUEST_BODY_MAX_BYTES_STAFF", default=32 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "pointsmall.limits.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Uploaded files up to this size are kept in memory while a request is parsed; larger ones
# go to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Django's own cap counts only the fields that are NOT files (a pasted code list, say);
# files are bounded by REQUEST_BODY_MAX_BYTES above. Each picture's own rules (5 MB,
# 20 megapixels, decoding cost) are checked by accounts.uploads.images.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10_485_760
# Fields in one request (Django's default, set here so it is a decision, docs/decisions/0054):
# the largest form is the admin's bulk shipping page (two fields per order, 100 orders a
# page); over it Django answers 400 before any view runs. Files per request likewise.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 100
# CSV imports in the admin (docs/decisions/0054): the file (or pasted list) in bytes, and its
# data rows. Purchases: each row is its own transaction inside one web request, which the
# server ends after 30 s (bigger files: manage.py points_import_purchases). Codes: one
# bulk insert, so many more rows fit.
CSV_IMPORT_MAX_BYTES = env.int("CSV_IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
CSV_IMPORT_MAX_ROWS_PURCHASES = env.int("CSV_IMPORT_MAX_ROWS_PURCHASES", default=300)
CSV_IMPORT_MAX_ROWS_CODES = env.int("CSV_IMPORT_MAX_ROWS_CODES", default=20_000)
# Pictures one member may upload (avatar, review photos), django-ratelimit's "count/period",
# counted in the default cache (Redis in production: shared by every process).
UPLOAD_RATE_LIMIT = env.str("UPLOAD_RATE_LIMIT", default="20/h")
# Feedback (意见反馈) one member may send, django-ratelimit's "count/period" (a fixed window per member).
FEEDBACK_RATE_LIMIT = env.str("FEEDBACK_RATE_LIMIT", default="5/h")

# --- Rate limits (pointsmall.kernel.ratelimit, docs/decisions/0051) -------------------------
# django-ratelimit's "count/period" (a fixed window per key), counted in the default cache; past
# one a request is answered 429 before it writes anything. "" turns a limit off.
# Payment PIN entries (the redeem form's PIN): per member and per client address, besides the
# lock-out after 5 wrong PINs in a row (accounts.services.pin).
PIN_RATE_LIMIT = env.str("PIN_RATE_LIMIT", default="10/10m")
PIN_IP_RATE_LIMIT = env.str("PIN_IP_RATE_LIMIT", default="60/10m")
# Redemption POSTs per member: generous, a member told "busy" (503) by a flash sale retries.
REDEEM_RATE_LIMIT = env.str("REDEEM_RATE_LIMIT", default="60/m")
# Check-in POSTs (check-in and make-up) per member, and per client address: past the address's
# rate the members checking in from it are flagged for review (accounts RiskFlag "checkin_burst").
CHECKIN_RATE_LIMIT = env.str("CHECKIN_RATE_LIMIT", default="10/m")
CHECKIN_IP_RATE_LIMIT = env.str("CHECKIN_IP_RATE_LIMIT", default="30/m")
# Lottery draw POSTs per member.
DRAW_RATE_LIMIT = env.str("DRAW_RATE_LIMIT", default="30/m")
# Review POSTs per member.
REVIEW_RATE_LIMIT = env.str("REVIEW_RATE_LIMIT", default="10/h")
# Account-deletion attempts per member (the form checks the password): a stolen session may not
# guess the password through it.
ACCOUNT_DELETE_RATE_LIMIT = env.str("ACCOUNT_DELETE_RATE_LIMIT", default="5/10m")
# Searches of the admin lists that show members' contact data masked (decision 0057), per staff
# member: an exact phone search answers yes or no, and the masked middle is four digits.
ADMIN_CONTACT_SEARCH_RATE_LIMIT = env.str("ADMIN_CONTACT_SEARCH_RATE_LIMIT", default="200/h")
# Host API calls per client key (X-Mall-Key), after the signature is checked.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/m")

# --- E-mail -----------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# Seconds one SMTP operation may block (connect, each command); unset, a hung server blocks a
# worker forever (and its claimed delivery would be sent twice, docs/decisions/0029).
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=20.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Points Mall <noreply@localhost>")
# Phone verification codes: a class with send_messages() (accounts.sms); the console one only logs them.
SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleBackend")
# SMS_BACKEND=accounts.sms.TwilioBackend: Twilio's Messages API with these credentials.
SMS_TWILIO_ACCOUNT_SID = env.str("SMS_TWILIO_ACCOUNT_SID", default="")
SMS_TWILIO_AUTH_TOKEN = env.str("SMS_TWILIO_AUTH_TOKEN", default="")
SMS_TWILIO_FROM = env.str("SMS_TWILIO_FROM", default="")
SMS_TWILIO_BASE_URL = env.str("SMS_TWILIO_BASE_URL", default="https://api.twilio.com")
SMS_TWILIO_TIMEOUT = env.float("SMS_TWILIO_TIMEOUT", default=10.0)
# Notification e-mails and SMS (accounts.services.delivery): a failing send is retried after
# 1, 2, 4, 8 … minutes (at most an hour apart) and marked failed after this many attempts.
# The dashboard's risk list: members who earn more than this many points in one business day,
# place more than this many orders in one day, or have at least this many cancelled or
# rejected orders in 30 days (docs/decisions/0031).
DASHBOARD_VELOCITY_POINTS = env.int("DASHBOARD_VELOCITY_POINTS", default=5_000)
DASHBOARD_VELOCITY_ORDERS = env.int("DASHBOARD_VELOCITY_ORDERS", default=10)
DASHBOARD_REFUNDS_AT_LEAST = env.int("DASHBOARD_REFUNDS_AT_LEAST", default=3)
NOTIFICATION_DELIVERY_MAX_ATTEMPTS = env.int("NOTIFICATION_DELIVERY_MAX_ATTEMPTS", default=8)

# --- Host integration (docs/integration.md) ------------------------------------------
# Encrypts the API clients' signing secrets at rest. Set it apart from DJANGO_SECRET_KEY so
# rotating that one does not invalidate every host's secret; changing this one does.
INTEGRATION_SECRETS_KEY = env.str("INTEGRATION_SECRETS_KEY", default=SECRET_KEY)
# How long a rotated-out secret keeps working, hours (the host's time to switch).
INTEGRATION_SECRET_OVERLAP_HOURS = env.int("INTEGRATION_SECRET_OVERLAP_HOURS", default=24)
# A host checkout hold (积分抵扣) releases itself after this many minutes unless captured.
INTEGRATION_HOLD_MINUTES = env.int("INTEGRATION_HOLD_MINUTES", default=15)
# POST /purchases refuses a purchased_at further back than this many days (a backdated purchase
# would skip the returns window: its points would be spendable at once).
INTEGRATION_PURCHASE_MAX_AGE_DAYS = env.int("INTEGRATION_PURCHASE_MAX_AGE_DAYS", default=90)
# Webhooks: seconds per attempt; retried with exponential backoff for this many hours.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# Webhook URLs on loopback or private networks are refused unless this is on (development and
# tests): an endpoint is an operator's input, and the mall must not probe its own network.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=DEBUG)

# --- Security (production profile when DJANGO_DEBUG is off) -------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from our own static files (no inline
# script, no eval: htmx is configured without eval in base.html); <style> blocks carry the
# request's nonce; style="" attributes stay allowed for computed widths (progress bars).
# Images may be data: URIs (the TOTP QR code). Nothing is loaded from another origin: the
# mall works offline. docs/decisions/0021-security-headers.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Powerful browser features the mall never uses are switched off for it and anything it embeds.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- The mall's own knobs -----------------------------------------------------------
MALL_NAME = env.str("MALL_NAME", default="")  # empty: the translated default name
# The host name members reach the mall at; e-mails sign with it (the Sites row follows it on migrate).
MALL_DOMAIN = env.str("MALL_DOMAIN", default="127.0.0.1:8000" if DEBUG else (ALLOWED_HOSTS or ["localhost"])[0])
# Links in e-mails and SMS: MALL_URL_SCHEME://MALL_DOMAIN/path.
MALL_URL_SCHEME = env.str("MALL_URL_SCHEME", default="http" if DEBUG else "https")
# One order may use at most this many points (default: 500 yuan at 100 points per yuan).
CATALOG_ORDER_CAP_POINTS = env.int("CATALOG_ORDER_CAP_POINTS", default=50_000)
# Points + cash orders not paid within this many minutes are cancelled and refunded.
CATALOG_PAYMENT_TIMEOUT_MINUTES = env.int("CATALOG_PAYMENT_TIMEOUT_MINUTES", default=15)
# "sandbox" behaves like a real gateway but moves no money: never the default in production.
CATALOG_PAYMENT_BACKEND = env.str("CATALOG_PAYMENT_BACKEND", default="sandbox" if DEBUG else "offline")
SANDBOX_PAYMENT_SECRET = env.str("SANDBOX_PAYMENT_SECRET", default=SECRET_KEY)
# Where gateways send their notifications. Empty: the scheme and host of the request that
# started the payment or refund (else the Sites domain); set it when gateways must use another address.
CATALOG_PAYMENT_CALLBACK_BASE = env.str("CATALOG_PAYMENT_CALLBACK_BASE", default="")
CATALOG_FLASH_GATE_TTL_SECONDS = env.int("CATALOG_FLASH_GATE_TTL_SECONDS", default=60)
# Units a flash-sale buyer reserved on arrival (catalog.middleware) go back to the gate if their
# redemption has not claimed them within this: longer than a buyer told "busy" keeps retrying.
CATALOG_FLASH_RESERVATION_SECONDS = 60

# --- Admission control of hot paths (docs/decisions/0044, docs/deploy.md) --------------------------
# Redemptions at work at once across every server sharing REDIS_URL (per process without Redis);
# one more is answered 503 at once with Retry-After. Measured with bench/flash_crowd.py --slots:
# a redemption is CPU- and hot-row-bound, so more places than the cores can run only queue inside
# the workers; keep it below the workers × threads of all servers so cheap requests find a thread.
ADMISSION_REDEEM_SLOTS = env.int("ADMISSION_REDEEM_SLOTS", default=4)
# While every place is taken, a redeem POST waits up to this for one before it is answered 503
# (docs/decisions/0049): places refused at once sat idle between the crowd's retry waves. Keep it
# well below GUNICORN_TIMEOUT. ADMISSION_MAX_WAITERS: threads of one worker that may wait at once
# (the others stay free for cheap requests: sold-out answers, pages).
ADMISSION_WAIT_SECONDS = env.float("ADMISSION_WAIT_SECONDS", default=3.0)
ADMISSION_MAX_WAITERS = env.int("ADMISSION_MAX_WAITERS", default=1)
# What a refused request is told to wait (the Retry-After header and the busy page).
ADMISSION_RETRY_AFTER_SECONDS = env.int("ADMISSION_RETRY_AFTER_SECONDS", default=2)
# A place held by a worker that was killed frees itself after this: gunicorn's timeout.
ADMISSION_SLOT_SECONDS = env.int("ADMISSION_SLOT_SECONDS", default=env.int("GUNICORN_TIMEOUT", default=30))

# --- Traffic analytics (docs/decisions/0028); fixed knobs, not read from the environment ------------
# Live counters go to REDIS_URL under this prefix; without Redis (or while it is down) to the database.
ANALYTICS_REDIS_PREFIX = "pm:analytics"
# A page never waits longer than this for the counters, and a dead Redis is retried after the pause.
ANALYTICS_REDIS_TIMEOUT_SECONDS = 0.1
ANALYTICS_REDIS_RETRY_SECONDS = 30.0
# Time-on-page samples one visitor may send (django-ratelimit "count/period"); more are refused (429).
ANALYTICS_BEACON_RATE = "30/m"
# …and one client address (IPv6: its /64), whatever visitor ids it sends: a transient cache counter.
ANALYTICS_BEACON_IP_RATE = "120/m"
# Paths never counted as page views (besides non-GET, non-HTML, htmx partials and bots).
ANALYTICS_EXCLUDED_PATHS = [
    "/admin/",
    "/static/",
    "/media/",
    "/mall/staff/",
    "/mall/pay/",
    "/analytics/",
    "/i18n/",
    "/healthz",
    "/readyz",
]

# One format for web, workers and beat: "text" (default; the demo, development) or "json"
# (production: one object per line); every line carries the request id (docs/decisions/0041).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))
