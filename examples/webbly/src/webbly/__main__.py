"""Allow ``python -m webbly``."""

from __future__ import annotations

import sys

from webbly.cli import main

sys.exit(main())
