"""testfleet: run large pytest suites fast and predictably.

The pytest plugin lives in :mod:`testfleet.plugin` and is loaded through the
``pytest11`` entry point; this module is the small public face of the package.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
