"""`agent-ops route eval` as a user runs it: a real process, JSON out or one error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN = (
    "text,label\n"
    "Where is my new card?,card_arrival\n"
    '"My card still hasn\'t arrived, what now?",card_arrival\n'
    "I lost my card,lost_card\n"
    "My card was stolen,lost_card\n"
    "What exchange rate do you use?,exchange_rate\n"
    "How much is a euro in dollars?,exchange_rate\n"
)
TEST = (
    "text,label\n"
    "has my card been posted yet?,card_arrival\n"
    "someone took my card from my bag,lost_card\n"
    "what's the rate for pounds to euros?,exchange_rate\n"
    "how do I bake sourdough bread?,unknown\n"
    "who won the world cup in 2010?,unknown\n"
)


def _route_eval(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_ops", "route", "eval", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent-ops: error: "), result.stderr
    return lines[0]


def test_route_eval_prints_scores_as_json(tmp_path: Path) -> None:
    train, test = _write(tmp_path, "a.csv", TRAIN), _write(tmp_path, "b.csv", TEST)
    result = _route_eval("--train", train, "--test", test, "--unknown-threshold", "0.45")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["queries"] == 5 and scores["routes"] == 3
    assert scores["unknown_threshold"] == 0.45
    assert scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0
    assert scores["unknown_precision"] == 1.0 and scores["unknown_recall"] == 1.0
    assert scores["ms_per_query"] > 0 and scores["ms_per_single_query"] > 0


def test_route_eval_without_unknown_queries_reports_recall_as_null(tmp_path: Path) -> None:
    train = _write(tmp_path, "a.csv", TRAIN)
    test = _write(tmp_path, "b.csv", "text,label\nI lost my card somewhere,lost_card\n")
    scores = json.loads(_route_eval("--train", train, "--test", test).stdout)
    assert scores["accuracy"] == 1.0 and scores["unknown_recall"] is None
    assert scores["unknown_threshold"] == 0.5


@pytest.mark.parametrize(
    ("train", "test", "extra", "problem"),
    [
        (None, TEST, (), "a.csv: no such file"),
        (
            "text,category\nhi,greet\n",
            TEST,
            (),
            "a.csv: missing column label (header has text, category)",
        ),
        ("", TEST, (), "a.csv: the file is empty"),
        (TRAIN, "text,label\n", (), "b.csv: no rows below the header"),
        (TRAIN, "text,label\n,unknown\n", (), "b.csv:2: empty text"),
        (
            TRAIN,
            TEST,
            ("--unknown-threshold", "1.5"),
            "--unknown-threshold must be between 0 and 1, got 1.5",
        ),
        ("text,label\nhi,unknown\n", TEST, (), "`unknown` is reserved"),
        (TRAIN, "text,label\nhello,greeting\n", (), "test labels greeting are not routes"),
    ],
)
def test_route_eval_bad_input_is_one_error_line(
    tmp_path: Path, train: str | None, test: str, extra: tuple[str, ...], problem: str
) -> None:
    train_path = tmp_path / "a.csv"
    if train is not None:
        train_path.write_text(train)
    test_path = _write(tmp_path, "b.csv", test)
    line = _one_error_line(_route_eval("--train", train_path, "--test", test_path, *extra))
    assert problem in line
