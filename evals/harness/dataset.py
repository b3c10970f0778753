"""Datasets on disk: JSONL, one case per line (`id`, `inputs`, `expected`, `tags`), with the
files a case names (`attachments/...`) kept beside it; import from CSV."""

from __future__ import annotations

import base64
import csv
import json
import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_ops.errors import InvalidInput

__all__ = ["Case", "Dataset", "attachment", "import_csv", "read_dataset", "write_dataset"]

_KEYS = {"id", "inputs", "expected", "tags"}


@dataclass(frozen=True)
class Case:
    """One example: what goes in, what should come out, and tags to slice the results by."""

    id: str
    inputs: dict[str, Any]
    expected: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inputs": self.inputs,
            "expected": self.expected,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Dataset:
    path: Path
    cases: tuple[Case, ...]

    @property
    def folder(self) -> Path:
        """Where the cases' attachments are resolved from."""
        return self.path.parent


def _case(data: Any, where: str, number: int) -> Case:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: line {number} is not a JSON object")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InvalidInput(
            f"{where}: line {number} has unknown key {unknown[0]!r}; keys: {', '.join(sorted(_KEYS))}"
        )
    inputs, expected, tags = data.get("inputs"), data.get("expected", {}), data.get("tags", [])
    if not isinstance(inputs, dict):
        raise InvalidInput(f"{where}: line {number}: `inputs` must be an object, got {inputs!r}")
    if not isinstance(expected, dict):
        raise InvalidInput(
            f"{where}: line {number}: `expected` must be an object, got {expected!r}"
        )
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput(
            f"{where}: line {number}: `tags` must be a list of strings, got {tags!r}"
        )
    return Case(str(data.get("id") or f"line-{number}"), inputs, expected, tuple(tags))


def read_dataset(path: Path) -> Dataset:
    """Read a JSONL dataset; a malformed line is InvalidInput naming its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read dataset {path}: {exc.strerror}") from None
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}: line {number} is not valid JSON: {exc.msg}") from None
        case = _case(data, str(path), number)
        if case.id in seen:
            raise InvalidInput(f"{path}: line {number} repeats case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise InvalidInput(f"dataset {path} has no cases")
    return Dataset(path, tuple(cases))


def write_dataset(path: Path, cases: Iterable[Case]) -> int:
    """Write cases as JSONL; return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def import_csv(
    source: Path,
    *,
    inputs: Sequence[str],
    expected: Sequence[str] = (),
    tags: str | None = None,
    id_column: str | None = None,
) -> list[Case]:
    """Cases from a CSV: the named columns become inputs and expected outputs; `tags` is a
    column of `;`-separated tags. A missing column is InvalidInput naming it."""
    try:
        with source.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            for name in [
                *inputs,
                *expected,
                *([tags] if tags else []),
                *([id_column] if id_column else []),
            ]:
                if name not in columns:
                    raise InvalidInput(
                        f"{source} has no column {name!r}; columns: {', '.join(columns)}"
                    )
            rows = list(reader)
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    return [
        Case(
            id=row[id_column] if id_column else f"{source.stem}-{number:05d}",
            inputs={name: row[name] for name in inputs},
            expected={name: row[name] for name in expected},
            tags=tuple(t for t in (row[tags] or "").split(";") if t) if tags else (),
        )
        for number, row in enumerate(rows, start=1)
    ]


def attachment(folder: Path, name: str) -> dict[str, str]:
    """A file named relative to the dataset's folder as a document value: filename, media type, base64 bytes."""
    path = (folder / name).resolve()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read attachment {path}: {exc.strerror}") from None
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {
        "filename": path.name,
        "media_type": media_type,
        "data_b64": base64.b64encode(data).decode(),
    }
