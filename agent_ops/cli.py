"""The `agent-ops` command: the one composition root that wires storage, graphs, workers, server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from agent_ops.deps import Deps
from agent_ops.errors import ConfigError, StorageError, first_problem
from agent_ops.governance import audit_cli, encryption_cli
from agent_ops.models import Models
from agent_ops.observability.logs import configure_logging
from agent_ops.runtime import GraphRegistry, IntakeSource, Runtime
from agent_ops.runtime.webhooks import MailSender
from agent_ops.settings import Settings
from agent_ops.storage import Storage, create_storage
from agent_ops.triggers import cli as triggers_cli

if TYPE_CHECKING:
    from datetime import datetime

    from agent_ops.storage import ApiKey
    from tools.config import Connectors
    from tools.demo import Demo

log = logging.getLogger("agent_ops")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent-ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API server with in-process workers")
    serve.add_argument("--config", type=Path, help="langgraph.json (default: ./langgraph.json)")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8123; 0 = any)")
    serve.add_argument("--workers", type=int, help="runs executed at once in this process")
    serve.add_argument("--processes", type=int, help="serving processes (PostgreSQL; default 1)")
    worker = commands.add_parser("worker", help="run workers only (scale out on PostgreSQL)")
    worker.add_argument("--config", type=Path, help="langgraph.json (default: ./langgraph.json)")
    worker.add_argument("--workers", type=int, help="runs executed at once in this process")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    keys = commands.add_parser("keys", help="API keys (AGENT_OPS_AUTH=keys)").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="make a key; prints it once, as one JSON line")
    create.add_argument("--tenant", required=True, help="the tenant the key acts in")
    create.add_argument(
        "--role", required=True, help="viewer, operator, approver or admin (see README)"
    )
    create.add_argument("--name", help="what the key is for (shown by `keys list`)")
    create.add_argument("--expires-in", help="lifetime such as 30d, 12h, 2w (default: none)")
    keys.add_parser("list", help="print every key (never the key itself), one JSON line each")
    revoke = keys.add_parser("revoke", help="revoke a key at once: it is refused with 401")
    revoke.add_argument("key_id", help="the key's id (`key_id` of `keys list`)")
    triggers_cli.add_parser(commands)
    audit_cli.add_parser(commands)
    encryption_cli.add_parser(commands)
    route = commands.add_parser("route", help="the embedded router").add_subparsers(
        dest="route_command", required=True
    )
    route_eval = route.add_parser(
        "eval", help="build a router from one labelled CSV (text,label), score it on another"
    )
    route_eval.add_argument("--train", type=Path, required=True, help="examples per route")
    route_eval.add_argument(
        "--test", type=Path, required=True, help="queries to score (label `unknown`: no route)"
    )
    route_eval.add_argument(
        "--unknown-threshold", type=float, help="similarity below which a query is unknown (0-1)"
    )
    from evals import cli as eval_cli  # the composition root wires the evaluation harness

    eval_cli.add_parser(commands)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in ("config", "host", "port", "workers", "processes")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings.load(**overrides)


def run() -> NoReturn:
    """The process entry (`agent-ops`, `python -m agent_ops`): `main`, then the exit.

    Everything still alive is frozen first (`gc.freeze`), so the interpreter's final
    collections skip it: with langchain, LangGraph, FastAPI and the graphs imported, they took
    about 0.7 s of every `serve` stop and every one-shot command, after the work was done.
    Objects freed by their reference count still are; only garbage cycles left at exit are not
    finalised, and the logs are flushed before (`logging.shutdown` runs at exit as usual)."""
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "route":
        return _route_eval(args)
    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"agent-ops: error: setting {first_problem(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "eval":
        from evals import cli as eval_cli

        return eval_cli.run(args, settings)
    try:
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "keys":
            return asyncio.run(_keys(settings, args))
        elif args.command == "triggers":
            return asyncio.run(triggers_cli.run(args, settings))
        elif args.command == "audit":
            return audit_cli.run(args, settings)
        elif args.command == "encryption":
            return encryption_cli.run(args, settings)
        elif args.command == "serve":
            return _serve(settings)
        else:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(_worker(settings))
    except (ConfigError, StorageError) as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _route_eval(args: argparse.Namespace) -> int:
    """Print a router's scores on a labelled test CSV as JSON; bad input is one error line."""
    import dataclasses
    import json

    from agent_ops import models
    from agent_ops.errors import InvalidInput

    threshold = args.unknown_threshold
    try:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InvalidInput(f"--unknown-threshold must be between 0 and 1, got {threshold}")
        train = models.read_labelled_csv(args.train)
        test = models.read_labelled_csv(args.test)
        options = {} if threshold is None else {"unknown_threshold": threshold}
        router = models.Router.from_examples(models.examples_by_label(train), **options)
        result = models.evaluate_router(router, test)
    except (ConfigError, InvalidInput) as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(result), indent=2))
    return 0


async def _migrate(settings: Settings) -> None:
    storage = create_storage(settings.database_url, pool_size=2)
    await storage.open()
    await storage.close()
    log.info("database %s is up to date", _redact(settings.database_url))


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    """`agent-ops keys create|list|revoke`: one JSON line per key; bad input is one error line."""
    import json

    from agent_ops.errors import AgentOpsError
    from agent_ops.governance import KeyRing, parse_duration

    secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
    storage = create_storage(settings.database_url, pool_size=2)
    await storage.open()
    try:
        ring = KeyRing(storage, secret)
        if args.keys_command == "create":
            expires_in = None if args.expires_in is None else parse_duration(args.expires_in)
            issued = await ring.create(
                tenant=args.tenant, role=args.role, name=args.name, expires_in=expires_in
            )
            print(json.dumps({"key": issued.key, **_key_view(issued.stored)}), flush=True)
        elif args.keys_command == "list":
            for key in await ring.list():
                print(json.dumps(_key_view(key)))
        else:
            print(json.dumps(_key_view(await ring.revoke(args.key_id))))
    except AgentOpsError as exc:
        print(f"agent-ops: error: {exc}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    return 0


def _key_view(key: ApiKey) -> dict[str, str | None]:
    def time(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "key_id": key.key_id,
        "name": key.name,
        "tenant": key.tenant_id,
        "role": key.role,
        "created_at": time(key.created_at),
        "expires_at": time(key.expires_at),
        "revoked_at": time(key.revoked_at),
    }


@contextlib.contextmanager
def _with_demo(settings: Settings) -> Iterator[tuple[Settings, Demo | None]]:
    """With AGENT_OPS_DEMO: the demo's systems up, and the settings pointed at them."""
    if not settings.demo:
        yield settings, None
        return
    from tools.demo import Demo

    demo = Demo(settings.demo_dir)
    try:
        yield demo.start(settings), demo
    finally:
        demo.stop()


def _serve(settings: Settings) -> int:
    if settings.processes > 1 and settings.backend == "sqlite":
        raise ConfigError(
            f"AGENT_OPS_PROCESSES={settings.processes} needs PostgreSQL: processes on one"
            " SQLite file do not wake each other; use one process (more --workers) there"
        )
    with _with_demo(settings) as (settings, demo):
        return _serve_with(settings, demo)


def _serve_with(settings: Settings, demo: Demo | None) -> int:
    import uvicorn

    class _GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which would turn a clean
        stop (runs finished or re-queued) into a death by signal; exit normally instead."""

        def handle_exit(self, sig: int, frame: object) -> None:
            super().handle_exit(sig, frame)  # type: ignore[arg-type]
            self._captured_signals.clear()

    from server.app import create_app
    from server.wire import CoalescingHttpToolsProtocol

    registry = GraphRegistry.load(settings.config)
    connectors = _connectors(settings)
    triggers = connectors.config.build_triggers() if connectors is not None else []
    # Bound before anything starts, so the graphs' deps can carry the address (the port may
    # be 0) and a port in use stops start-up before the database is touched.
    group = settings.processes > 1
    sock = _bind(settings.host, settings.port, reuse_port=group)
    port = sock.getsockname()[1]
    url = f"http://{settings.host}:{port}"
    # More processes serve the same port and meet in PostgreSQL as `agent-ops worker`
    # processes do: one Python process is CPU-bound well below what PostgreSQL can take.
    copies = _fork(settings.processes - 1)
    first = copies is not None
    if not first:
        # Each process listens on its own socket of one SO_REUSEPORT group, so the kernel
        # spreads connections over them by address hash. One shared socket let whichever
        # process woke first accept every queued connection in one go (asyncio accepts up
        # to the backlog per wake-up), and a run is carried out by the process that took
        # its request, so one process could end up doing all the work.
        sock.close()
        try:
            sock = _join(settings.host, port)
        except OSError:
            log.exception("serving process %d cannot join port %d", os.getpid(), port)
            os._exit(1)

    async def run() -> None:
        storage = create_storage(
            settings.database_url,
            pool_size=settings.database_pool_size,
            prepared_statements=settings.database_prepared_statements,
        )
        deps = _deps(settings, storage, connectors, public_url=settings.public_url or url)
        runtime = Runtime(settings, storage, registry, triggers=triggers, deps=deps)
        runtime.auth.check_bind(settings.host)
        await runtime.start()  # from here on the app's lifespan stops it
        await triggers_cli.reconcile_declared(runtime, settings)
        triggers_cli.start_scheduler(runtime, settings, *_trigger_inputs(connectors))
        config = uvicorn.Config(
            create_app(runtime, started=True),
            http=CoalescingHttpToolsProtocol,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5,
        )
        server = _GracefulServer(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        # uvicorn exposes readiness only as a flag, so poll it briefly.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        # What start-up made (modules, compiled graphs, the registry, settings) lives as long as
        # the process: frozen, the collector stops walking it on every full collection.
        gc.freeze()
        if server.started and first:
            log.info(
                "agent-ops listening on %s (%s backend, graphs: %s)",
                url,
                runtime.backend,
                ", ".join(registry.ids()),
            )
            print(f"agent-ops listening on {url}", flush=True)
            print(f"agent-ops console: {url}/console", flush=True)
            if demo is not None:
                demo.mail_samples(url)
        await serving
        if not server.started:  # the lifespan that stops the runtime never ran
            await runtime.stop()
            raise ConfigError(f"cannot serve on {url}")

    try:
        with (
            sock,
            contextlib.suppress(KeyboardInterrupt),
            asyncio.Runner(loop_factory=_loop_factory()) as r,
        ):
            r.run(run())
    except BaseException:
        if copies is None:
            log.exception("serving process %d failed", os.getpid())
            os._exit(1)
        raise
    finally:
        if copies is None:
            os._exit(0)  # a copy ends here, leaving the first process's clean-up to it
        _stop_copies(copies, settings.shutdown_grace_seconds + _COPY_STOP_MARGIN)
    return 0


def _fork(count: int) -> list[int] | None:
    """Fork `count` copies of this process before any loop or connection exists; return
    their pids in the first process, None in a copy."""
    pids: list[int] = []
    sys.stdout.flush()  # or the copies would print what is buffered again
    sys.stderr.flush()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            return None
        pids.append(pid)
    return pids


# How long past its runs' shutdown grace a copy may take to stop before it is killed: uvicorn
# gives open connections the grace plus 5 s, then the runtime re-queues what is still running.
_COPY_STOP_MARGIN = 10.0


def _stop_copies(pids: list[int], grace: float) -> None:
    """Stop the copies as the first process stopped (SIGTERM: finish or re-queue their runs),
    wait up to `grace` seconds for them, then SIGKILL any still there: a copy hung on shutdown
    must not hold the first process, and the port with it, forever (the runs it held are
    re-queued when their leases lapse, as after a crash)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    running = set(pids)
    deadline = time.monotonic() + grace
    while running:
        running = {pid for pid in running if not _ended(pid)}
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for pid in sorted(running):
        log.warning("serving process %d did not stop within %.0f s; killing it", pid, grace)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # bounded: SIGKILL ends even a stopped process


def _ended(pid: int) -> bool:
    """Whether the copy `pid` has ended (and is reaped), without waiting."""
    try:
        ended, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return ended == pid


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: any free one); a ConfigError if it cannot be.

    `reuse_port` binds it into an SO_REUSEPORT group the other serving processes join. The
    port is first bound without the option, so a port some other server holds (even one that
    set SO_REUSEPORT itself) is refused rather than silently shared with it."""
    sock = _socket(host)
    try:
        sock.bind((host, port))
        if reuse_port:
            port = sock.getsockname()[1]
            sock.close()
            sock = _join(host, port)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _join(host: str, port: int) -> socket.socket:
    """A socket bound into the SO_REUSEPORT group on `host:port` (an OSError if it cannot be)."""
    sock = _socket(host)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def _connectors(settings: Settings) -> Connectors | None:
    """The connectors config, read and checked once at start-up (None when none is set)."""
    if settings.connectors_config is None:
        return None
    from tools.config import Connectors

    return Connectors.load(settings.connectors_config.resolve())


def _trigger_inputs(
    connectors: Connectors | None,
) -> tuple[triggers_cli.QueryRunner | None, dict[str, IntakeSource]]:
    """What stored triggers poll: the SQL connectors' named queries, the intake sources."""
    if connectors is None:
        return None, {}
    from tools.sql import query_runner

    return query_runner(connectors.config.sql), connectors.config.sources()


def _deps(
    settings: Settings,
    storage: Storage,
    connectors: Connectors | None,
    *,
    public_url: str | None,
) -> Deps:
    """What this process's graphs get per run: models, connectors and the public address."""
    return Deps(
        models=Models.from_settings(settings, storage),
        connectors=connectors,
        public_url=public_url.rstrip("/") if public_url else None,
        mail=_mail_sender(connectors),
    )


def _mail_sender(connectors: Connectors | None) -> MailSender | None:
    """Send the server's own mail (escalation notices) through the mail connector's SMTP."""
    smtp = connectors.config.mail.smtp if connectors and connectors.config.mail else None
    if smtp is None:
        return None
    from langgraph.store.memory import InMemoryStore

    from tools.mail import Mailer, SendEmail

    # The outbox keeps the notice until it is sent; the Mailer's idempotency store only spares
    # a repeat within this process (a repeat after a crash carries the same Message-ID).
    mailer = Mailer(smtp, InMemoryStore())

    async def send(to: str, subject: str, body: str, key: str) -> object:
        mail = SendEmail(to=[to], subject=subject, body=body, idempotency_key=key, in_reply_to=None)
        return await mailer.send(mail)

    return send


async def _worker(settings: Settings) -> None:
    if settings.backend == "sqlite":
        raise ConfigError(
            "`agent-ops worker` needs PostgreSQL (AGENT_OPS_DATABASE_URL=postgresql://...); "
            "on the embedded SQLite file, `agent-ops serve` runs the workers itself"
        )
    registry = GraphRegistry.load(settings.config)
    connectors = _connectors(settings)  # a worker polls no triggers, but its graphs reach them
    storage = create_storage(
        settings.database_url,
        pool_size=settings.database_pool_size,
        prepared_statements=settings.database_prepared_statements,
    )
    # A worker listens nowhere: links in mails point at the configured public URL.
    deps = _deps(settings, storage, connectors, public_url=settings.url)
    runtime = Runtime(settings, storage, registry, deps=deps)
    await runtime.start()
    await triggers_cli.reconcile_declared(runtime, settings)
    triggers_cli.start_scheduler(runtime, settings, *_trigger_inputs(connectors))
    await _work_until_stopped(runtime, registry)


async def _work_until_stopped(runtime: Runtime, registry: GraphRegistry) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("agent-ops worker running (graphs: %s)", ", ".join(registry.ids()))
    await stop.wait()
    log.info("shutting down: finishing or re-queueing in-flight runs")
    await runtime.stop()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (it comes with uvicorn[standard]); asyncio's own loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url
