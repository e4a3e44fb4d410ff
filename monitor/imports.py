"""Start-up cost: a dependency may import optional packages at import time for features this
program never uses (sqlite-utils imports numpy and pandas for their column types: about 90 ms of
every command's start-up, a poll's included)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def without(*names: str) -> Iterator[None]:
    """While the block runs, `import name` raises ImportError for each of `names` not already
    imported; after it, they import normally again (dedup imports numpy itself)."""
    hidden = [m for m in names if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None        # type: ignore[assignment]  # makes `import m` fail
    try:
        yield
    finally:
        for m in hidden:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]
