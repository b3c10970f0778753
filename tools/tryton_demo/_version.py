"""Which seed a built demo holds: a digest of the code that decides the database's contents."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

_SEEDING_CODE = ("_seed.py", "_process.py")


def seed_version() -> str:
    """A digest of the seeding code and trytond's version: it changes whenever the seed may."""
    digest = hashlib.sha256(importlib.metadata.version("trytond").encode())
    for name in _SEEDING_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]
