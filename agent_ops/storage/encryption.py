"""Encryption at rest: the keyring that seals checkpoints and store values, and the serializer
both backends' checkpointers use.

With a key, LangGraph's `EncryptedSerializer` with its pycryptodome AES cipher (EAX, the format
LangGraph's own server writes under `LANGGRAPH_AES_KEY`) seals every checkpoint, channel value
and pending write. Store values and stream events are sealed under the same key with AES-GCM
(`cryptography`, far cheaper per value than EAX): a value into a JSON string (`SEALED_PREFIX` +
base64), event data behind `SEALED_BYTES`. Values written before the key was set are still read
(a checkpoint blob carries no cipher name, a store value is not such a string, event data is
JSON). The old keys
(`AGENT_OPS_ENCRYPTION_OLD_KEYS`) only open; a blob no key opens is a `ConfigError` naming both
settings rather than a bare MAC or type error.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from Crypto.Cipher import AES
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent_ops.errors import ConfigError
from agent_ops.types import Json

__all__ = [
    "SEALED_BYTES",
    "SEALED_PREFIX",
    "Keyring",
    "Resealed",
    "Sealed",
    "checkpoint_serializer",
    "open_bytes",
]

SETTING = "AGENT_OPS_ENCRYPTION_KEY"
OLD_SETTING = "AGENT_OPS_ENCRYPTION_OLD_KEYS"
SEALED_PREFIX = "sealed:aesgcm:"
"""How a sealed store value starts: a JSON string, never an item's value (always an object)."""
SEALED_BYTES = b"\x00sealed:aesgcm:"
"""How a sealed stream event starts: never JSON, which an event's data otherwise is."""


class Sealed:
    """A plain value (str, number, bool, None) the PostgreSQL checkpointer must store as an
    encrypted blob: it keeps such values inline in the checkpoint's JSONB, past the serializer."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Keyring:
    """The current key, which seals (None: values are written plain), and old keys that only
    open, so a key can be rotated: `agent-ops encryption rotate` re-seals under the current one.

    A `CipherProtocol` for LangGraph's `EncryptedSerializer`: `nonce (16) + tag (16) + text`
    under AES-EAX, as LangGraph's own pycryptodome cipher writes it."""

    def __init__(self, key: bytes | None = None, old_keys: Sequence[bytes] = ()) -> None:
        if old_keys and key is None:
            raise ConfigError(f"{OLD_SETTING} is set without {SETTING}; set the current key too")
        self.key = key
        self._keys = ([key] if key is not None else []) + [k for k in old_keys if k != key]
        # Store values and events: AES-GCM from `cryptography` (a few microseconds a value,
        # where pycryptodome's EAX takes hundreds: a filtered search opens every item it reads).
        self._gcms = [AESGCM(k) for k in self._keys]

    def __bool__(self) -> bool:
        """True when values are sealed (a current key is set)."""
        return self.key is not None

    # -- CipherProtocol ----------------------------------------------------------------------
    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        if self.key is None:
            raise ConfigError(f"cannot encrypt: {SETTING} is not set")
        cipher = AES.new(self.key, AES.MODE_EAX)
        text, tag = cipher.encrypt_and_digest(plaintext)
        return "aes", cipher.nonce + tag + text

    def decrypt(self, ciphername: str, ciphertext: bytes, what: str = "a checkpoint") -> bytes:
        if ciphername != "aes":
            raise ConfigError(f"{what} is encrypted with {ciphername!r}; {SETTING} is AES")
        for key in self._keys:
            opened = self._open(key, ciphertext)
            if opened is not None:
                return opened
        raise self._unknown(what)

    def _unknown(self, what: str) -> ConfigError:
        if not self._keys:
            return ConfigError(
                f"{what} is encrypted but {SETTING} is not set; "
                "start with the key it was written under"
            )
        return ConfigError(
            f"cannot decrypt {what} with {SETTING} or {OLD_SETTING} ({len(self._keys)} keys "
            "tried): it was written under another key (or altered); start with the key it was "
            f"written under as {SETTING}, or add it to {OLD_SETTING}"
        )

    def is_current(self, ciphertext: bytes) -> bool:
        """True if the current key opens `ciphertext` (no re-sealing needed)."""
        return self.key is not None and self._open(self.key, ciphertext) is not None

    @staticmethod
    def _open(key: bytes, ciphertext: bytes) -> bytes | None:
        cipher = AES.new(key, AES.MODE_EAX, nonce=ciphertext[:16])
        try:
            return cipher.decrypt_and_verify(ciphertext[32:], ciphertext[16:32])
        except ValueError:  # pycryptodome: "MAC check failed": another key, or altered
            return None

    # -- stream events and store values: nonce (12) + text + tag under AES-GCM ----------------
    def seal(self, data: bytes) -> bytes:
        """`data` sealed under the current key with AES-GCM (a fresh random nonce)."""
        if not self._gcms or self.key is None:
            raise ConfigError(f"cannot encrypt: {SETTING} is not set")
        nonce = os.urandom(12)
        return nonce + self._gcms[0].encrypt(nonce, data, None)

    def unseal(self, blob: bytes, what: str) -> bytes:
        """What `seal` sealed, under the current key or an old one; ConfigError naming both
        settings when none opens it."""
        for gcm in self._gcms:
            try:
                return gcm.decrypt(blob[:12], blob[12:], None)
            except InvalidTag:  # another key, or altered
                continue
        raise self._unknown(what)

    def sealed_by_current(self, blob: bytes) -> bool:
        """True if the current key opens what `seal` sealed (no re-sealing needed)."""
        if self.key is None:
            return False
        try:
            self._gcms[0].decrypt(blob[:12], blob[12:], None)
        except InvalidTag:
            return False
        return True

    def seal_bytes(self, data: bytes) -> bytes:
        """Event data as it is stored: sealed under the current key, or as given without one."""
        return data if self.key is None else SEALED_BYTES + self.seal(data)

    def seal_value(self, value: Json) -> Json | str:
        """The value as it is stored: sealed under the current key, or as given without one."""
        if self.key is None:
            return value
        plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return SEALED_PREFIX + base64.b64encode(self.seal(plain)).decode()

    def open_value(self, stored: Json | str) -> Json:
        """The value a stored one holds (plain ones, written before the key, as they are)."""
        if not isinstance(stored, str):
            return stored
        if not stored.startswith(SEALED_PREFIX):
            raise ConfigError(f"a store value is a string ({stored[:20]!r}...), not an object")
        opened: Json = json.loads(self.unseal(_blob(stored), "a store value"))
        return opened


@dataclass(slots=True)
class Resealed:
    """What one batch of `Storage.reseal_batch` found and did in one table."""

    table: str
    resealed: int = 0
    """Rows sealed under an old key, now sealed under the current one."""
    sealed: int = 0
    """Plain store values and events (written before the key was set), now sealed."""
    current: int = 0
    """Rows already sealed under the current key, left as they were."""
    plain: int = 0
    """Plain checkpoint rows, left plain (see `reseal_blob`)."""
    last: tuple[Any, ...] | None = None
    """The primary key of the batch's last row, where the next batch starts; None: no rows."""
    updates: list[tuple[tuple[Any, ...], Any, Any]] = field(default_factory=list)
    """(key, new, old) of each row the batch rewrites: (type, blob), event data or a store
    value; `old` (a checkpoint's or a value's, as read) must be unchanged for the rewrite."""

    def reseal_blob(self, keys: Keyring, key: tuple[Any, ...], typ: str, blob: bytes) -> None:
        """Count a checkpoint row and queue it for re-sealing unless the current key seals it.

        A plain one is left plain: on PostgreSQL part of a plain checkpoint is inline JSONB that
        only the checkpointer writes, so sealing its blobs alone would leave it half sealed."""
        self.last = key
        if "+" not in typ:
            self.plain += 1
        elif keys.is_current(blob):
            self.current += 1
        else:
            kind, cipher = typ.split("+", 1)
            fresh = keys.encrypt(keys.decrypt(cipher, blob))
            self.updates.append((key, (f"{kind}+{fresh[0]}", fresh[1]), (typ, blob)))
            self.resealed += 1

    def reseal_bytes(self, keys: Keyring, key: tuple[Any, ...], stored: bytes) -> None:
        """Count a stream event and queue it for sealing under the current key unless it is."""
        self.last = key
        sealed = stored.startswith(SEALED_BYTES)
        if sealed and keys.sealed_by_current(stored[len(SEALED_BYTES) :]):
            self.current += 1
            return
        self.updates.append((key, keys.seal_bytes(open_bytes(keys, stored)), None))
        if sealed:
            self.resealed += 1
        else:
            self.sealed += 1

    def reseal_value(
        self, keys: Keyring, key: tuple[Any, ...], stored: Json | str, as_read: Any
    ) -> None:
        """Count a store value and queue it for sealing under the current key unless it is;
        `as_read` is the column as read, which the rewrite requires to be unchanged."""
        self.last = key
        if isinstance(stored, str) and keys.sealed_by_current(_blob(stored)):
            self.current += 1
            return
        self.updates.append((key, keys.seal_value(keys.open_value(stored)), as_read))
        if isinstance(stored, str):
            self.resealed += 1
        else:
            self.sealed += 1


def _blob(stored: str) -> bytes:
    return base64.b64decode(stored.removeprefix(SEALED_PREFIX))


def open_bytes(keys: Keyring, stored: bytes) -> bytes:
    """The event data a stored one holds (plain ones, written before the key, as they are)."""
    if not stored.startswith(SEALED_BYTES):
        return stored
    return keys.unseal(stored[len(SEALED_BYTES) :], "a stream event")


def is_sealed(stored: object) -> bool:
    """True if a stored store value is sealed (a `SEALED_PREFIX` string)."""
    return isinstance(stored, str) and stored.startswith(SEALED_PREFIX)


class _Serializer(JsonPlusSerializer):
    """LangGraph's serializer, saying which setting to fix when it meets an encrypted blob.

    A subclass, not a wrapper: LangGraph copies the serializer to extend its msgpack allow-list,
    and a copy keeps the subclass."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return super().dumps_typed(obj.value if isinstance(obj, Sealed) else obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        if "+" in data[0]:  # written by EncryptedSerializer: "<type>+<cipher>"
            raise ConfigError(
                f"a checkpoint is encrypted ({data[0]}) but {SETTING} is not set; "
                "start with the key it was written under"
            )
        return super().loads_typed(data)


def checkpoint_serializer(keys: Keyring) -> SerializerProtocol:
    """The checkpointer's serializer: sealing under the keyring's current key, or plain."""
    if not keys:
        return _Serializer()
    return EncryptedSerializer(keys, _Serializer())
