"""Resources shared by the tests of a run: the shared cache (``fleet_cache``) and
per-worker databases (``worker_database``).

This layer takes plain data (configuration tables, paths, clocks); the pytest
side lives in :mod:`testfleet.plugins`.  Besides :mod:`testfleet.model` it uses
two helpers of other layers rather than copies of them: the configuration
file reader (``testfleet.categories.config.read_toml``) and the URL redaction
of the history (``testfleet.history.postgres.redact``).  Nothing is imported
here eagerly, so that ``import testfleet.resources`` stays free of sqlite3.
"""

from __future__ import annotations
