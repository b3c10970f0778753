"""A file a loader must refuse: written, loaded, and the refusal's message handed back so each
test can check that it names the path or the bad value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent_ops.errors import ConfigError


def refusal(
    path: Path,
    text: str,
    load: Callable[[Path], object],
    error: type[Exception] = ConfigError,
    match: str | None = None,
) -> str:
    """Write `text` to `path`; `load` must raise `error` (matching `match`): its message."""
    path.write_text(text)
    with pytest.raises(error, match=match) as caught:
        load(path)
    return str(caught.value)
