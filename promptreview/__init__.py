"""promptreview: review prompt changes by running old and new prompts over the same sample."""

from __future__ import annotations

import re

__version__: str = "0+unknown"  # a source tree nobody built or installed: no version, no commit
_NODE: object = None
_DIRTY: object = False
try:  # written by setuptools-scm when the package is built (pyproject.toml), with the commit it was built from
    from promptreview import _version

    __version__, _NODE, _DIRTY = _version.__version__, _version.NODE, _version.DIRTY
except ImportError:
    pass

# The full commit this package was built from, or None where the build did not know it (an sdist's own metadata,
# a tarball without export-subst): setuptools-scm records git's node as "g" + the hash.
__commit__: str | None = (
    _NODE[-40:] if isinstance(_NODE, str) and re.fullmatch(r"g?[0-9a-f]{40}", _NODE) else None
)
# built from a working tree with uncommitted changes: the commit is where they started, not what was built
__dirty__: bool = bool(_DIRTY)
