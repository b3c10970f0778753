"""An experiment's results folder: what each case did (`cases.jsonl`), the metrics
(`summary.json`) and how it was run (`experiment.json`). `compare` and `report` read it back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent_ops.errors import InvalidInput

__all__ = ["CaseResult", "Experiment", "load_experiment"]

Status = Literal["success", "error", "interrupted", "timeout"]


@dataclass
class CaseResult:
    """One run of one case: its output, how it ended, what it cost, and its scores."""

    id: str
    repeat: int
    tags: list[str]
    inputs: dict[str, Any]
    expected: dict[str, Any]
    output: Any
    status: Status
    error: str | None
    latency_ms: float
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    thread_id: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id if self.repeat == 0 else f"{self.id}#{self.repeat}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseResult:
        return cls(**data)


@dataclass
class Experiment:
    folder: Path
    meta: dict[str, Any]
    summary: dict[str, Any]
    cases: list[CaseResult]

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.summary.get("metrics", {}))

    @property
    def name(self) -> str:
        return str(self.meta.get("experiment", self.folder.name))


def load_experiment(where: str | Path, root: Path | None = None) -> Experiment:
    """An experiment by folder, or by name under `root` (the results folder)."""
    folder = Path(where)
    if not folder.is_dir() and root is not None and (root / str(where)).is_dir():
        folder = root / str(where)
    if not (folder / "summary.json").is_file():
        raise InvalidInput(f"{where} is not an experiment folder (no summary.json in it)")
    meta = json.loads((folder / "experiment.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    cases = [
        CaseResult.from_json(json.loads(line))
        for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return Experiment(folder, meta, summary, cases)
