"""The authentication gate: which way callers prove who they are (`AGENT_OPS_AUTH`, or the
handler langgraph.json declares), and the refusal to serve a network without it."""

from __future__ import annotations

import ipaddress
import logging
from typing import Literal

from agent_ops.errors import ConfigError, Unauthenticated
from agent_ops.governance.handler import AuthHandler, RequestFacts
from agent_ops.governance.identity import Identity
from agent_ops.governance.keys import PREFIX, KeyRing, KeyStore
from agent_ops.governance.oidc import OidcVerifier
from agent_ops.settings import Settings

__all__ = ["Authentication", "is_loopback"]

log = logging.getLogger("agent_ops.governance")

Mode = Literal["off", "keys", "oidc", "handler"]


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


class Authentication:
    """Turns a request's credentials into an `Identity` by the configured way."""

    def __init__(
        self, settings: Settings, keys: KeyStore, handler: AuthHandler | None = None
    ) -> None:
        if handler is not None and settings.auth != "off":
            raise ConfigError(
                f"langgraph.json declares the auth handler {handler.spec} and "
                f"AGENT_OPS_AUTH={settings.auth}; use one of them (unset AGENT_OPS_AUTH to "
                "authenticate with the handler)"
            )
        self.mode: Mode = "handler" if handler is not None else settings.auth
        secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
        if self.mode == "keys" and secret is None:
            raise ConfigError(
                "AGENT_OPS_AUTH=keys needs AGENT_OPS_AUTH_SECRET (32+ characters), the secret "
                "API keys are hashed under"
            )
        self.keys = KeyRing(keys, secret)
        self._handler = handler
        self._oidc = OidcVerifier(settings) if self.mode == "oidc" else None

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def describe(self) -> str:
        if self._handler is not None:
            return f"auth handler {self._handler.spec}"
        if self._oidc is not None:
            return f"OIDC tokens (keys from {self._oidc.jwks_url})"
        return {"keys": "API keys", "off": "off"}[self.mode]

    def check_bind(self, host: str) -> None:
        """Refuse to serve a non-loopback address unauthenticated; warn loudly on loopback."""
        if self.enabled:
            log.info("authentication: %s", self.describe())
            return
        if not is_loopback(host):
            raise ConfigError(
                f"refusing to listen on {host} with AGENT_OPS_AUTH=off: anyone who reaches it "
                "could run and approve anything; set AGENT_OPS_AUTH=keys or oidc, or bind "
                "127.0.0.1"
            )
        log.warning(
            "AUTHENTICATION IS OFF (AGENT_OPS_AUTH=off): every local caller is admin of every "
            "tenant; allowed only because %s is a loopback address",
            host,
        )

    async def authenticate(self, facts: RequestFacts) -> Identity | None:
        """Return the caller's identity (None when authentication is off); Unauthenticated
        without a valid credential."""
        if self.mode == "off":
            return None
        if self._handler is not None:
            return await self._handler.authenticate(facts)
        api_key = facts.header("x-api-key")
        bearer = _bearer(facts.header("authorization"))
        if self._oidc is not None:
            if bearer is None:
                raise Unauthenticated("send an OIDC token as Authorization: Bearer <token>")
            return await self._oidc.verify(bearer)
        credential = api_key or bearer
        if credential is None:
            raise Unauthenticated(
                f"send an API key ({PREFIX}...) as X-Api-Key or Authorization: Bearer"
            )
        return await self.keys.verify(credential)


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
