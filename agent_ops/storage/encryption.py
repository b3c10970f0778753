"""Encryption at rest of checkpoints: the serializer both backends' checkpointers use.

With a key, LangGraph's `EncryptedSerializer` with its pycryptodome AES cipher (EAX, the format
LangGraph's own server writes under `LANGGRAPH_AES_KEY`) seals every checkpoint, channel value
and pending write; blobs written before the key was set are still read (they carry no cipher
name). A blob that cannot be opened, under another key or with none set, is a `ConfigError`
naming `AGENT_OPS_ENCRYPTION_KEY` rather than a bare MAC or type error.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.serde.base import CipherProtocol, SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent_ops.errors import ConfigError

__all__ = ["Sealed", "checkpoint_serializer"]

SETTING = "AGENT_OPS_ENCRYPTION_KEY"


class Sealed:
    """A plain value (str, number, bool, None) the PostgreSQL checkpointer must store as an
    encrypted blob: it keeps such values inline in the checkpoint's JSONB, past the serializer."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


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


class _NamedKeyCipher:
    """A cipher whose failure to open a blob names the setting (a wrong key fails the MAC)."""

    def __init__(self, cipher: CipherProtocol) -> None:
        self._cipher = cipher

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return self._cipher.encrypt(plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != "aes":
            raise ConfigError(f"a checkpoint is encrypted with {ciphername!r}; {SETTING} is AES")
        try:
            return self._cipher.decrypt(ciphername, ciphertext)
        except ValueError as exc:  # pycryptodome: "MAC check failed"
            raise ConfigError(
                f"cannot decrypt a checkpoint with {SETTING}: it was written under another key "
                "(or altered); keys cannot be rotated, start with the key it was written under"
            ) from exc


def checkpoint_serializer(key: bytes | None) -> SerializerProtocol:
    """The checkpointer's serializer: AES under `key` (16, 24 or 32 bytes), or plain."""
    if key is None:
        return _Serializer()
    encrypted = EncryptedSerializer.from_pycryptodome_aes(_Serializer(), key=key)
    return EncryptedSerializer(_NamedKeyCipher(encrypted.cipher), encrypted.serde)
