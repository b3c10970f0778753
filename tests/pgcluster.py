"""A throw-away PostgreSQL cluster for tests and benchmarks, on an ephemeral loopback port.

    cluster = PgCluster()
    url = cluster.start()                 # postgresql://postgres@127.0.0.1:<port>/postgres
    db_url = cluster.create_database("t1")
    cluster.stop()                        # stops the server and removes its files

Uses the newest `initdb`/`pg_ctl` under /usr/lib/postgresql/*/bin. Run as root, the server runs
as the `postgres` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

SEARCH_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"


class PgClusterError(RuntimeError):
    """Raised when the cluster cannot be created or started."""


def find_bin_dir() -> Path:
    """Return the bin folder of the newest PostgreSQL installed, or raise PgClusterError."""
    candidates = [p for p in Path("/").glob(SEARCH_GLOB.lstrip("/")) if (p / "initdb").is_file()]
    if not candidates:
        raise PgClusterError(
            f"no PostgreSQL server binaries (initdb, pg_ctl) under {SEARCH_GLOB};"
            " install the postgresql package"
        )

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.parent.name.split(".") if part.isdigit())

    return max(candidates, key=version)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One PostgreSQL server in a temporary folder, removed by `stop()`."""

    def __init__(self, *, max_connections: int = 200) -> None:
        self.bin_dir = find_bin_dir()
        self.max_connections = max_connections
        self.root: Path | None = None
        self.port: int | None = None
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        if self.port is None:
            raise PgClusterError("the cluster is not started")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PgClusterError(f"{shlex.join(command)} could not run: {exc}") from exc
        if done.returncode != 0:
            raise PgClusterError(
                f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )

    def start(self) -> str:
        """Create and start the cluster; return its URL."""
        self.root = Path(tempfile.mkdtemp(prefix="agent-ops-pg-"))
        if self._as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise PgClusterError(
                    f"running as root but there is no {SERVER_USER!r} user to run PostgreSQL"
                ) from exc
            os.chown(self.root, user.pw_uid, user.pw_gid)
        data = self.root / "data"
        try:
            self._run(
                "initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            for attempt in range(3):
                self.port = _free_port()
                options = " ".join(
                    [
                        f"-p {self.port}",
                        "-c listen_addresses=127.0.0.1",
                        f"-k {self.root}",
                        "-c fsync=off",
                        "-c synchronous_commit=off",
                        "-c full_page_writes=off",
                        f"-c max_connections={self.max_connections}",
                    ]
                )
                try:
                    self._run(
                        "pg_ctl",
                        "-D",
                        str(data),
                        "-l",
                        str(self.root / "server.log"),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    )
                    break
                except PgClusterError:
                    if attempt == 2:
                        raise PgClusterError(
                            f"PostgreSQL did not start; log:\n{self.log_tail()}"
                        ) from None
        except BaseException:
            self.stop()
            raise
        return self.url

    def log_tail(self, lines: int = 40) -> str:
        log = self.root / "server.log" if self.root else None
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root)
        self.root = None
        self.port = None
