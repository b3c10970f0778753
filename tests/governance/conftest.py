"""Real agent-ops servers with authentication on, one per way (API keys, OIDC tokens, a custom
LangGraph handler) and backend, a local OIDC provider's JWKS, and the `keys` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from langgraph_sdk import get_client

from tests.commands import run_command
from tests.servers import BACKENDS, TEST_GRAPHS, AgentOpsProcess, new_server

SECRET = "test-secret-" + "s" * 32
ISSUER = "https://id.example.test"
AUDIENCE = "agent-ops-tests"


@pytest.fixture(autouse=True)
def _no_sdk_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # langgraph-sdk falls back to these when api_key is not given; the tests say who calls.
    for name in ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def start(
    request: pytest.FixtureRequest,
    factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str],
    config: Path = TEST_GRAPHS,
) -> AgentOpsProcess:
    env = {"AGENT_OPS_WORKERS": "2", **env}
    server = new_server(factory, name, env, request=request, config=config).start()
    request.addfinalizer(server.stop)
    return server


# -- API keys -------------------------------------------------------------------------------------
# What turns API keys on for a server (the tests' own secret).
KEYS_AUTH = {"AGENT_OPS_AUTH": "keys", "AGENT_OPS_AUTH_SECRET": SECRET}


@pytest.fixture(scope="session", params=BACKENDS)
def keys_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    return start(request, tmp_path_factory, "keys", KEYS_AUTH)


def server_cli(server: AgentOpsProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops ...` (`keys`, `audit`) on the server's database, with its settings."""
    env = {**os.environ, **server.extra_env, "AGENT_OPS_DATABASE_URL": server.database_url}
    return run_command(*args, env=env)


def keys_cli(server: AgentOpsProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops keys ...` on the server's database, with its secret."""
    return server_cli(server, "keys", *args)


def create_key(server: AgentOpsProcess, tenant: str, role: str, *extra: str) -> dict[str, Any]:
    """A new key from `agent-ops keys create` (the one JSON line it prints)."""
    done = keys_cli(server, "create", "--tenant", tenant, "--role", role, *extra)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    created: dict[str, Any] = json.loads(lines[0])
    return created


def tenant_clients(server: AgentOpsProcess, *roles: str) -> tuple[str, list[Any], list[str]]:
    """A new tenant with one key per role: its id, an SDK client per key, and each key's actor."""
    tenant = f"t{uuid.uuid4().hex[:10]}"
    keys = [create_key(server, tenant, role) for role in roles]
    assert server.url is not None
    clients = [get_client(url=server.url, api_key=k["key"]) for k in keys]
    return tenant, clients, [f"key:{k['key_id']}" for k in keys]


async def refusal(call: Any) -> str:
    """The detail of the 403 that `call` is answered with."""
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call
    assert caught.value.response.status_code == 403
    detail: str = caught.value.response.json()["detail"]
    return detail


# -- OIDC -----------------------------------------------------------------------------------------
@dataclass
class Provider:
    """A local OIDC provider: its JWKS at `jwks_url`, and tokens signed by its key."""

    jwks_url: str
    key: rsa.RSAPrivateKey
    kid: str

    def token(self, *, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "maria",
            "iat": now,
            "exp": now + 300,
            "role": "viewer",
            "tenant": "acme",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    kid = "test-key-1"
    body = json.dumps({"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output for failures

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Provider(f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json", key, kid)
    httpd.shutdown()
    httpd.server_close()


def oidc_env(jwks_url: str) -> dict[str, str]:
    return {
        "AGENT_OPS_AUTH": "oidc",
        "AGENT_OPS_OIDC_ISSUER": ISSUER,
        "AGENT_OPS_OIDC_AUDIENCE": AUDIENCE,
        "AGENT_OPS_OIDC_JWKS_URL": jwks_url,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def oidc_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, provider: Provider
) -> AgentOpsProcess:
    return start(request, tmp_path_factory, "oidc", oidc_env(provider.jwks_url))


# -- a custom LangGraph auth handler --------------------------------------------------------------
HANDLER = """
from langgraph_sdk import Auth

auth = Auth()

# token -> user, as an app's own user directory would answer
USERS = {
    "t-alice": {"identity": "alice", "role": "approver", "tenant": "acme"},
    "t-victor": {"identity": "victor", "permissions": ["viewer"], "tenant_id": "acme"},
    "t-olga": {"identity": "olga", "tenant": "acme"},
    "t-nobody": {"identity": "nobody"},  # no tenant: the default one
}


@auth.authenticate
async def authenticate(headers, path, method):
    token = headers.get(b"x-api-key")
    user = USERS.get(token.decode() if token else "")
    if user is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail=f"no user for {method} {path}")
    return user
"""


def handler_config(folder: Path, handler: str = HANDLER) -> Path:
    """A langgraph.json serving the test graphs with `./auth.py:auth` as its auth handler."""
    (folder / "auth.py").write_text(handler)
    config = folder / "langgraph.json"
    graphs = TEST_GRAPHS.parent
    config.write_text(
        json.dumps(
            {
                "dependencies": [str(graphs)],
                "graphs": {"approve": f"{graphs}/graphs.py:approve"},
                "auth": {"path": "./auth.py:auth"},
            }
        )
    )
    return config


@pytest.fixture(scope="session", params=BACKENDS)
def handler_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AgentOpsProcess:
    config = handler_config(tmp_path_factory.mktemp(f"handler-app-{request.param}"))
    return start(request, tmp_path_factory, "handler", {}, config=config)


def serve_once(
    tmp_path: Path, *args: str, config: Path = TEST_GRAPHS, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops serve` on a fresh SQLite file until it exits (a start-up refusal)."""
    return run_command(
        "serve",
        "--config",
        str(config),
        "--port",
        "0",
        *args,
        env={**os.environ, "AGENT_OPS_DATABASE_URL": f"sqlite:///{tmp_path}/a.db", **env},
        cwd=tmp_path,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one `agent-ops: error:` line a refused start-up printed (exit code 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("agent-ops: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]
