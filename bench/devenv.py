"""The separate virtualenv that holds the official `langgraph dev` server, built on first use.

It pins langgraph and langchain-core to the versions of the running interpreter so both servers
execute the same graph code; a stamp file records what was installed, and a change reinstalls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path

VENV_DIR = Path(__file__).resolve().parent / ".venv-langgraph"
_STAMP = VENV_DIR / "bench-requirements.txt"


def requirements() -> list[str]:
    """Return the pip requirements of the `langgraph dev` venv, pinned to this interpreter's."""
    pins = [f"{dist}=={version(dist)}" for dist in ("langgraph", "langchain-core", "langgraph-sdk")]
    return ["langgraph-cli[inmem]", *pins]


def langgraph_executable(log: Path) -> Path:
    """Return the `langgraph` CLI of the bench venv, creating or updating the venv if needed.

    pip's output goes to `log`; its tail is in the error if the install fails.
    """
    wanted = "\n".join(requirements()) + "\n"
    exe = VENV_DIR / "bin" / "langgraph"
    if exe.exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
        return exe
    if not (VENV_DIR / "bin" / "python").exists():
        print(f"creating {VENV_DIR} for `langgraph dev` ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV_DIR)
    print(f"installing {' '.join(requirements())} ...", file=sys.stderr, flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    pip = [str(VENV_DIR / "bin" / "python"), "-m", "pip", "install", *requirements()]
    with log.open("wb") as sink:
        done = subprocess.run(pip, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"pip install failed ({done.returncode}); end of {log}:\n{tail}")
    if not exe.exists():
        raise RuntimeError(f"pip finished but {exe} is missing; see the pip output above")
    _STAMP.write_text(wanted)
    return exe


def installed_versions() -> dict[str, str]:
    """Return the versions of the langgraph server packages installed in the bench venv."""
    dists = ("langgraph-cli", "langgraph-api", "langgraph-runtime-inmem", "langgraph")
    script = (
        "import json, importlib.metadata as m; "
        f"print(json.dumps({{d: m.version(d) for d in {dists!r}}}))"
    )
    python = str(VENV_DIR / "bin" / "python")
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions
