"""API keys: `aok_<key_id>_<secret>`, issued once, stored as an HMAC-SHA256 under the server secret.

A key is looked up by its id and its HMAC compared in constant time, so the check costs one
indexed read and one HMAC per request. A keyed hash (not argon2) is enough here: the secret part
is 32 random bytes, nothing to brute-force, and a stolen table is useless without the server
secret.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from agent_ops.errors import ConfigError, InvalidInput, Unauthenticated
from agent_ops.governance import audit
from agent_ops.governance.identity import Identity, Role, parse_role
from agent_ops.storage import ApiKey, Storage

__all__ = ["IssuedKey", "KeyRing", "parse_duration"]

PREFIX: Final = "aok_"
_KEY: Final = re.compile(r"^aok_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_DURATION: Final = re.compile(r"^(\d+)([smhdw])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TENANT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# What keys need of storage: the keys, and the audit trail their changes are recorded in.
KeyStore = Storage


def _operator() -> str:
    """Who runs the `keys` command, as the audit trail names them (`cli:<login>`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in this environment (a bare container)
        return "cli:unknown"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: the stored row, and the key itself (shown once, never stored)."""

    key: str
    stored: ApiKey


def parse_duration(text: str) -> timedelta:
    """Read `30d`, `12h`, `90m`, `2w`, `45s`; InvalidInput naming the text otherwise."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            f"duration {text!r} is not a positive number with a unit s, m, h, d or w (e.g. 30d)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class KeyRing:
    """Issues, lists, revokes and checks the API keys of one store under one server secret."""

    def __init__(self, storage: KeyStore, secret: str | None) -> None:
        self._storage = storage
        self._secret = None if secret is None else secret.encode()

    def _digest(self, key: str) -> str:
        if self._secret is None:
            raise ConfigError(
                "API keys need a server secret: set AGENT_OPS_AUTH_SECRET (32+ characters)"
            )
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()

    async def create(
        self,
        *,
        tenant: str,
        role: str,
        name: str | None = None,
        expires_in: timedelta | None = None,
    ) -> IssuedKey:
        """Make a key for `tenant` with `role`; the returned key is the only copy."""
        if not _TENANT.match(tenant):
            raise InvalidInput(
                f"tenant {tenant!r} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        checked: Role = parse_role(role)
        key_id = secrets.token_hex(8)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        expires_at = None if expires_in is None else datetime.now(UTC) + expires_in
        stored = await self._storage.create_api_key(
            ApiKey(
                key_id=key_id,
                name=name,
                tenant_id=tenant,
                role=checked,
                digest=self._digest(key),
                created_at=datetime.now(UTC),
                expires_at=expires_at,
                revoked_at=None,
            )
        )
        await audit.record(  # the key itself never enters the trail, only its id and grant
            self._storage,
            "key.create",
            "api_key",
            key_id,
            actor=_operator(),
            tenant=tenant,
            detail={"role": checked, "name": name, "expires_at": stored.expires_at},
        )
        return IssuedKey(key, stored)

    async def list(self) -> list[ApiKey]:
        return await self._storage.list_api_keys()

    async def revoke(self, key_id: str) -> ApiKey:
        revoked = await self._storage.revoke_api_key(key_id)
        await audit.record(
            self._storage,
            "key.revoke",
            "api_key",
            key_id,
            actor=_operator(),
            tenant=revoked.tenant_id,
            detail={"revoked_at": revoked.revoked_at},
        )
        return revoked

    async def verify(self, key: str) -> Identity:
        """Return the identity the key stands for; Unauthenticated if it is malformed, unknown,
        revoked or expired (the message says which, never echoing the secret part)."""
        match = _KEY.match(key)
        if match is None:
            raise Unauthenticated("the API key is not an agent-ops key (aok_<id>_<secret>)")
        key_id = match.group(1)
        digest = self._digest(key)
        stored = await self._storage.get_api_key(key_id)
        if stored is None or not hmac.compare_digest(stored.digest, digest):
            raise Unauthenticated(f"API key {key_id} is not valid")
        if stored.revoked_at is not None:
            raise Unauthenticated(
                f"API key {key_id} was revoked at {stored.revoked_at.isoformat()}"
            )
        if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
            raise Unauthenticated(f"API key {key_id} expired at {stored.expires_at.isoformat()}")
        return Identity(
            tenant=stored.tenant_id,
            subject=f"key:{key_id}",
            role=parse_role(stored.role),
            via="key",
            display_name=stored.name,
        )
