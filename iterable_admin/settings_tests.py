"""Settings for the test suite: the production settings with what tests need changed.

django-q2 reads Q_CLUSTER["sync"] once at import, so it is set here rather than with override_settings.
"""

import os

# The emulator listens on ephemeral loopback ports; the client reads this variable itself, so it is set in
# the environment before the settings read it.
os.environ.setdefault("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1")

from iterable_admin.settings import *  # noqa: F403
from iterable_admin.settings import Q_CLUSTER

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# The demo's QA recipients live at example.com.
TEST_RECIPIENT_DOMAINS = ["example.com"]

# SQLite tests use a file, as production does: an in-memory database shares one cache between threads and
# answers "table is locked" at once, where a file waits its busy timeout (IMMEDIATE transactions), so
# concurrency tests would measure the test setup instead of the product.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"iterable_admin_test_{os.getpid()}.sqlite3")
    }
