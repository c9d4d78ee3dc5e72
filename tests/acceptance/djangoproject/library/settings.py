"""Settings of the library project: PostgreSQL on this machine, one app.

``LIBRARY_DB_NAME`` names the database, so that runs in parallel (CI jobs on
one server) each have test databases of their own.
"""

import os

SECRET_KEY = "testfleet-acceptance-tests-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "library.books"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("LIBRARY_DB_NAME", "library"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
}
