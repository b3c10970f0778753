"""The shipped prompts are found from the package, so the server works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.settings import Settings
settings = Settings()
prompt = Models(ModelsConfig(), settings, MemoryDecisions()).prompts.get("extract")
print(settings.prompts_dir, prompt.name, prompt.version)
"""


def run(cwd: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_default_prompts_are_read_from_any_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENT_OPS_PROMPTS_DIR"}
    folder, name, version = run(tmp_path, env)

    assert Path(folder) == Path(__file__).parents[2] / "prompts"
    assert (name, version) == ("extract", "v1")


def test_a_relative_prompts_dir_given_by_the_user_is_read_from_the_working_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "mine" / "extract").mkdir(parents=True)
    (tmp_path / "mine" / "extract" / "v7.md").write_text("Mine.")
    env = {**os.environ, "AGENT_OPS_PROMPTS_DIR": "mine"}
    assert run(tmp_path, env)[1:] == ["extract", "v7"]
