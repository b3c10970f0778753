"""The invoice benchmark end to end with a tiny plan on SQLite, so `python -m bench invoice`
cannot rot between full runs; and its check that refuses a run that ended anywhere else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.invoice import check
from bench.workload import WrongAnswer
from tests.invoice.samples import invoice

NODES = {"receive", "check", "book", "post", "pay", "ledger", "notify"}


def test_invoice_bench_pays_and_pauses_each_invoice_through_the_server_and_in_process(
    tryton_demo_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.json"
    argv = ["invoice", "--only", "sqlite", "--iterations", "2", "--warmup", "0"]
    argv += ["--tryton-seed", str(tryton_demo_dir), "--output", str(output)]

    assert main(argv) == 0

    result = json.loads(output.read_text())["invoice"]["targets"]["sqlite"]
    assert result["status"] == "ok", result.get("reason")
    for side in ("server", "floor"):
        assert result[side]["paid"]["n"] == 2 and result[side]["paused"]["n"] == 2
        assert result[side]["erp"] == {"posted_invoices": 2, "payments": 2}
        assert result[side]["paid"]["p50_ms"] > result[side]["paused"]["p50_ms"] > 0
    assert set(result["floor"]["paid_steps_p50_ms"]) == NODES
    assert set(result["ratios"]) == {"paid_p50", "paid_p90", "paused_p50", "paused_p90"}


def test_a_run_that_did_not_end_where_its_path_must_is_refused() -> None:
    inv = invoice("BENCH-X", "PO-00001", [("BOLT-M8", "Steel bolt", 10, "0.25")])
    paused = {"status": "needs_review", "__interrupt__": [{}]}
    paused["match"] = {"findings": [{"code": "price_mismatch"}]}
    check("paused", inv, paused)

    with pytest.raises(WrongAnswer, match="BENCH-X should have ended paid"):
        check("paid", inv, paused)
    paid_elsewhere = {"status": "paid", "erp": {"payment_state": "submitted", "amount": "9.99"}}
    with pytest.raises(WrongAnswer, match="ended paid"):
        check("paid", inv, paid_elsewhere)
