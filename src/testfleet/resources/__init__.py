"""Resources shared by the tests of a run: the shared cache (``fleet_cache``).

This layer takes plain data (configuration tables, paths, clocks) and may
import only :mod:`testfleet.model`; the pytest side lives in
:mod:`testfleet.plugins`.  Nothing is imported here eagerly, so that
``import testfleet.resources`` stays free of sqlite3.
"""

from __future__ import annotations
