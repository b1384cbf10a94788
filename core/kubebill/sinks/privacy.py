"""KUBEBILL_HASH_POD_NAMES: pod and container names replaced by a stable short hash."""

from __future__ import annotations

import hashlib

from kubebill.model import SENTINELS


def hash_name(name: str | None) -> str | None:
    """`h-` + 12 hex digits of SHA-256; sentinels (`__idle__`, …) and empty names stay as they are."""
    if not name or name in SENTINELS:
        return name
    return "h-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def shown(name: str | None, *, hashed: bool) -> str | None:
    """`name`, or its hash when pod and container names must not leave the store."""
    return hash_name(name) if hashed else name
