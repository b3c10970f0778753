"""`python -m tools.tryton_demo build DIR` seeds a demo Tryton; `ensure DIR` seeds it unless DIR
holds one of this seed version already; `serve DIR` serves it."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from tools.tryton_demo._process import build, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.tryton_demo")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="create and seed the SQLite database in DIR")
    build_cmd.add_argument("directory", type=Path)
    build_cmd.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    ensure_cmd = commands.add_parser("ensure", help="build DIR unless it is of this seed version")
    ensure_cmd.add_argument("directory", type=Path)
    serve_cmd = commands.add_parser("serve", help="serve the database in DIR over HTTP")
    serve_cmd.add_argument("directory", type=Path)
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "build":
        build(args.directory.resolve(), args.today)
    elif args.command == "ensure":
        from tools.tryton_demo import ensure_demo

        ensure_demo(args.directory.resolve())
    else:
        serve(args.directory.resolve(), args.host, args.port)


if __name__ == "__main__":
    main()
