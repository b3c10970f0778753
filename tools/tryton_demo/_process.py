"""The two jobs a demo Tryton process does: build the database, and serve it over HTTP.

trytond reads its configuration once, globally, so each job runs in a process of its own
(`python -m tools.tryton_demo build|serve DIR`) that loads DIR's configuration first.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.tryton_demo import _seed
from tools.tryton_demo._version import seed_version

DATABASE = "demo"
CONFIG_FILE = "trytond.conf"
INFO_FILE = "demo.json"


def write_config(directory: Path) -> Path:
    """Write a trytond configuration for an SQLite database kept in `directory`."""
    path = directory / CONFIG_FILE
    path.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {directory}\n"
        "language = en\n"
        "[web]\n"
        "listen = 127.0.0.1:0\n"
        "[attachment]\n"
        f"store_prefix = {directory / 'attachments'}\n"
    )
    return path


def _load_config(directory: Path) -> None:
    from trytond.config import config

    config.update_etc(str(directory / CONFIG_FILE))


def build(directory: Path, today: dt.date) -> dict[str, Any]:
    """Create the SQLite database in `directory`, seed it, and write its facts to demo.json."""
    directory.mkdir(parents=True, exist_ok=True)
    write_config(directory)
    _load_config(directory)
    from sql import Table
    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from tools.tryton_demo._seed import seed

    database = backend.Database()
    database.connect()
    connection = database.get_connection(autocommit=True)
    try:
        database.create(connection, DATABASE)
    finally:
        database.put_connection(connection)
        database.close()

    database = backend.Database(DATABASE)
    connection = database.get_connection()
    try:
        with connection.cursor() as cursor:
            database.init()
            configuration = Table("ir_configuration")
            cursor.execute(*configuration.insert([configuration.language], [["en"]]))
        connection.commit()
    finally:
        database.put_connection(connection)

    pool = Pool(DATABASE)
    pool.init(update=["res", "ir"], lang=["en"])
    with Transaction().start(DATABASE, 0):
        # Only translatable languages get their data (the English chart of accounts among it).
        (english,) = pool.get("ir.lang").search([("code", "=", "en")])
        english.translatable = True
        english.save()
        pool.get("ir.module").update_list()
        _ensure_admin(pool)

    facts = seed(DATABASE, today)
    facts["database"] = DATABASE
    facts["seed_version"] = seed_version()
    (directory / INFO_FILE).write_text(json.dumps(facts, indent=2))
    return facts


def _ensure_admin(pool: Any) -> None:
    """The `admin` user proteus seeds as. trytond up to 8.0 ships it in its data; 8.2 makes it
    in `trytond-admin` (as a user flagged `administrator`), which this build does not run."""
    user = pool.get("res.user")
    if user.search([("login", "=", "admin")]):
        return
    user.create([{"login": "admin", "name": "Administrator", "administrator": True}])


def add_orders(directory: Path, orders: Sequence[_seed.Order], today: dt.date) -> list[str]:
    """Add confirmed purchase orders to the built database in `directory`; note them in demo.json."""
    _load_config(directory)
    made = _seed.add_orders(DATABASE, orders, today)
    info = json.loads((directory / INFO_FILE).read_text())
    info["purchases"] += [number for number, _ in made]
    info["invoice_methods"] = {**info.get("invoice_methods", {}), **dict(made)}
    (directory / INFO_FILE).write_text(json.dumps(info, indent=2))
    return [number for number, _ in made]


def add_payment_journal(directory: Path, name: str) -> int:
    """Add a payment journal to the built database in `directory`."""
    _load_config(directory)
    return _seed.add_payment_journal(DATABASE, name)


def serve(directory: Path, host: str, port: int) -> None:
    """Serve the database in `directory` with trytond's WSGI app; print the URL once listening."""
    _load_config(directory)
    from trytond.pool import Pool
    from trytond.wsgi import app
    from werkzeug.serving import make_server

    Pool.start()
    Pool(DATABASE).init()
    server = make_server(host, port, app, threaded=True)
    # The first line is the contract with DemoServer: it carries the URL.
    print(f"tryton listening on http://{host}:{server.server_port}/", flush=True)
    print(f"database {DATABASE!r}; REST key and record ids in {directory / INFO_FILE}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        sys.stdout.flush()
