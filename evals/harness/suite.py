"""A suite: which graph runs, on which dataset, how a case becomes the graph's input, and which
scorers judge the output. Kept as a YAML file; paths in it are relative to the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ops.errors import InvalidInput
from evals.harness.dataset import Case, attachment
from tools.config import read_yaml
from tools.json_path import walk

__all__ = ["SUITES_DIR", "ScorerSpec", "Suite", "find_suite", "lookup"]

SUITES_DIR = Path(__file__).parents[1] / "suites"
"""The suites shipped with agent-ops; `agent-ops eval run routing` finds `routing.yaml` here."""


class ScorerSpec(BaseModel):
    """One scorer: its `kind` (or `module:function` for a custom one) and its options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str
    name: str | None = Field(default=None, description="metric prefix (default: the kind)")


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    graph: str = Field(description="a graph id of the langgraph.json named by `config`")
    dataset: Path
    config: Path = Field(default=Path("langgraph.json"), description="the langgraph.json")
    models: Path | None = Field(default=None, description="models config (default: all local)")
    replay: Path | None = Field(
        default=None, description="replay cache folder (default: replay/<name> beside the suite)"
    )
    input: dict[str, Any] | str = Field(
        description="the graph's input; `$inputs.a.b` takes a case's value (`$inputs`: all "
        "of them), `$attachment:inputs.a` reads the file it names beside the dataset"
    )
    run_config: dict[str, Any] = Field(default_factory=dict, description="the runs' config")
    interrupt_after: list[str] | None = Field(
        default=None, description="stop each run after these nodes (the rest is not evaluated)"
    )
    scorers: list[ScorerSpec] = Field(min_length=1)
    rules: dict[str, str] = Field(
        default_factory=dict,
        description="`rules:<name>` providers: name -> `module:function` (deterministic stand-ins)",
    )
    source: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Suite:
        """Read a suite file; paths in it become absolute (relative to the file)."""
        data = read_yaml(path, "suite", InvalidInput)
        if not isinstance(data, dict):
            raise InvalidInput(f"suite {path} must be a YAML mapping")
        try:
            suite = cls.model_validate({**data, "source": path.resolve()})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise InvalidInput(f"suite {path}: {where}: {first['msg']}") from None
        base = path.resolve().parent
        return suite.model_copy(
            update={
                "dataset": base / suite.dataset,
                "config": base / suite.config,
                "models": None if suite.models is None else base / suite.models,
                "replay": base / (suite.replay or Path("replay") / suite.name),
            }
        )

    def graph_input(self, case: Case, folder: Path) -> Any:
        """The graph's input for `case` (`folder`: where its attachments are)."""
        values = {"inputs": case.inputs, "expected": case.expected, "id": case.id}

        def fill(template: Any) -> Any:
            if isinstance(template, dict):
                return {key: fill(value) for key, value in template.items()}
            if isinstance(template, list):
                return [fill(value) for value in template]
            if isinstance(template, str) and template.startswith("$attachment:"):
                name = lookup(values, template.removeprefix("$attachment:"), case.id)
                return attachment(folder, str(name))
            if isinstance(template, str) and template.startswith("$"):
                return lookup(values, template[1:], case.id)
            return template

        return fill(self.input)


def lookup(value: Any, path: str, case_id: str = "?") -> Any:
    """`a.b.0.c` in nested dicts and lists; a missing step is InvalidInput naming it."""
    try:
        return walk(value, path.split(".") if path else [])
    except LookupError as missing:
        raise InvalidInput(f"case {case_id}: no {missing.args[0]!r} in {path!r}") from None


def find_suite(name: str) -> Path:
    """A suite file by path, or by name among the shipped suites; InvalidInput lists them."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    shipped = SUITES_DIR / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    known = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    raise InvalidInput(
        f"unknown suite {name!r}: no such file, and shipped suites are {', '.join(known)}"
    )
