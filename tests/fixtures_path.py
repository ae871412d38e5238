"""Where the tests' copies of public wire-format artifacts live (see tests/fixtures/README.md).

Inside the repository, so a plain clone runs the tests; `PROMPTREVIEW_FIXTURES` points at another copy.
"""

from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(os.environ.get("PROMPTREVIEW_FIXTURES") or Path(__file__).resolve().parent / "fixtures")
