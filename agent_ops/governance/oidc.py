"""OIDC bearer tokens: a JWT signed by the provider's keys (its JWKS), with the configured issuer
and audience; the role and the tenant come from configured claims.

PyJWT does the cryptography and caches the provider's keys (`PyJWKClient`); its fetch is
blocking, so it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

from typing import Any

import anyio
import jwt

from agent_ops.errors import ConfigError, Forbidden, IdentityProviderUnavailable, Unauthenticated
from agent_ops.governance.identity import ROLES, Identity, highest_role
from agent_ops.settings import Settings

__all__ = ["OidcVerifier"]

_JWKS_TIMEOUT_SECONDS = 5.0


class OidcVerifier:
    """Checks bearer tokens against one provider's issuer, audience and signing keys."""

    def __init__(self, settings: Settings) -> None:
        missing = [
            f"AGENT_OPS_OIDC_{name.upper()}"
            for name in ("issuer", "audience", "jwks_url")
            if not getattr(settings, f"oidc_{name}")
        ]
        if missing:
            raise ConfigError(f"AGENT_OPS_AUTH=oidc needs {', '.join(missing)}")
        assert settings.oidc_jwks_url is not None
        self.jwks_url = settings.oidc_jwks_url
        self._issuer = settings.oidc_issuer
        self._audience = settings.oidc_audience
        self._algorithms = settings.oidc_algorithms
        self._role_claim = settings.oidc_role_claim
        self._tenant_claim = settings.oidc_tenant_claim
        self._default_tenant = settings.oidc_default_tenant
        self._keys = jwt.PyJWKClient(
            self.jwks_url, cache_keys=True, lifespan=300, timeout=_JWKS_TIMEOUT_SECONDS
        )

    async def verify(self, token: str) -> Identity:
        """Return the token's identity: Unauthenticated for a bad, expired or foreign token,
        IdentityProviderUnavailable when the keys cannot be fetched, Forbidden without a role."""
        claims = await anyio.to_thread.run_sync(self._decode, token)
        role = highest_role(claims.get(self._role_claim))
        subject = str(claims.get("sub") or "")
        if role is None:
            raise Forbidden(
                f"the token of {subject!r} has no role in claim {self._role_claim!r} "
                f"(one of {', '.join(ROLES)})"
            )
        tenant = claims.get(self._tenant_claim) or self._default_tenant
        if not isinstance(tenant, str) or not tenant:
            raise Unauthenticated(
                f"the token of {subject!r} has no tenant in claim {self._tenant_claim!r}"
            )
        return Identity(
            tenant=tenant,
            subject=subject,
            role=role,
            via="oidc",
            display_name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        )

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnavailable(
                f"cannot fetch the OIDC signing keys from {self.jwks_url}: {exc}"
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the bearer token is not valid: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the bearer token is not valid: {exc}") from exc
        return claims
