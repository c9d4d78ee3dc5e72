"""Resources shared by the tests of a run: the shared cache (``fleet_cache``) and
per-worker databases (``worker_database``).

This layer takes plain data (configuration tables, paths, clocks); the pytest
side lives in :mod:`testfleet.plugins`.  Besides :mod:`testfleet.model` it uses
one helper of another layer rather than a copy of it: the configuration
file reader (``testfleet.categories.config.read_toml``); URLs are shown
through :mod:`testfleet.model.urls`, without their passwords.  Nothing is imported
here eagerly, so that ``import testfleet.resources`` stays free of sqlite3.
"""

from __future__ import annotations
