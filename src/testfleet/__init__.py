"""testfleet: run large pytest suites fast and predictably.

The pytest plugin lives in :mod:`testfleet.plugin` and is loaded through the
``pytest11`` entry point; this module is the small public face of the package.

PYTEST_DONT_REWRITE: the ``testfleet`` command imports this package before it
calls ``pytest.main``, and pytest (which rewrites the asserts of every package
that has a ``pytest11`` entry point) would otherwise warn that it is already
imported, an error in suites with ``filterwarnings = error``.
"""

from __future__ import annotations

from testfleet.plugins.shared import shared_fixture
from testfleet.resources.slots import AcquireTimeout, acquire

__version__ = "0.1.0"

__all__ = ["AcquireTimeout", "__version__", "acquire", "shared_fixture"]
