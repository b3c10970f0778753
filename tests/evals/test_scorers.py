"""Scorers on hand-built cases, against values worked out by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest

from agent_ops.errors import InvalidInput
from evals.harness import CaseResult, ScorerSpec, build_scorer
from evals.harness.experiment import summarize


def _case(
    output: Any, expected: dict[str, Any], *, status: str = "success", calls: Any = ()
) -> CaseResult:
    return CaseResult(
        id=f"c{id(output)}",
        repeat=0,
        tags=[],
        inputs={},
        expected=expected,
        output=output,
        status=status,  # type: ignore[arg-type]
        error=None,
        latency_ms=10.0,
        tool_calls=list(calls),
    )


def _metrics(spec: dict[str, Any], cases: list[CaseResult]) -> dict[str, Any]:
    return summarize(cases, [build_scorer(ScorerSpec.model_validate(spec))])


def test_classification_metrics_and_confusion_matrix_match_the_hand_computed_values() -> None:
    want = ["a", "a", "b", "b", "c"]
    got = ["a", "b", "b", "b", "a"]
    cases = [_case({"route": g}, {"label": w}) for g, w in zip(got, want, strict=True)]
    summary = _metrics({"kind": "classification", "output": "route"}, cases)
    metrics = summary["metrics"]
    # a: tp 1 of 2 predicted, 2 actual -> P .5 R .5 F1 .5; b: tp 2 of 3 predicted, 2 actual ->
    # P 2/3 R 1 F1 .8; c: never predicted, 1 actual -> 0 0 0. Accuracy 3/5.
    assert metrics["classification.accuracy"] == 0.6
    assert metrics["classification.macro_precision"] == pytest.approx((0.5 + 2 / 3) / 3, abs=1e-6)
    assert metrics["classification.macro_recall"] == 0.5
    assert metrics["classification.macro_f1"] == pytest.approx(1.3 / 3, abs=1e-6)
    details = summary["details"]["classification"]
    assert details["labels"] == ["a", "b", "c"]
    assert details["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]  # rows expected
    assert [c.scores["classification.accuracy"] for c in cases] == [1, 0, 1, 1, 0]


def test_a_failed_run_counts_as_a_wrong_label_named_by_its_status() -> None:
    cases = [_case({}, {"label": "a"}, status="error"), _case({"route": "a"}, {"label": "a"})]
    summary = _metrics({"kind": "classification", "output": "route"}, cases)
    assert summary["metrics"]["classification.accuracy"] == 0.5
    assert summary["details"]["classification"]["labels"] == ["<error>", "a"]


def test_field_match_normalizes_text_and_numbers_and_applies_numeric_tolerance() -> None:
    expected = {"inv": {"vendor": "ACME  Ltd", "total": "100.00", "tax": "19.00", "po": None}}
    close = {"inv": {"vendor": "acme ltd", "total": "100.004", "tax": 19, "po": None}}
    far = {"inv": {"vendor": "Acme Limited", "total": "100.02", "tax": "19.0", "po": "PO-1"}}
    spec = {
        "kind": "fields",
        "output": "inv",
        "expected": "inv",
        "fields": ["vendor", "total", "tax", "po"],
        "tolerance": {"total": 0.005},
    }
    cases = [_case(close, expected), _case(far, expected), _case(None, {"inv": None})]
    metrics = _metrics(spec, cases)["metrics"]
    # close: all four match; far: only tax (19.0 == 19.00 as numbers); the third has no truth
    # and is left out of every mean.
    assert cases[0].scores["fields.all"] == 1.0
    assert cases[1].scores == {
        "fields.vendor": 0.0,
        "fields.total": 0.0,
        "fields.tax": 1.0,
        "fields.po": 0.0,
        "fields.all": 0.0,
    }
    assert set(cases[2].scores.values()) == {None}
    assert metrics == {
        "fields.vendor": 0.5,
        "fields.total": 0.5,
        "fields.tax": 1.0,
        "fields.po": 0.5,
        "fields.all": 0.5,
    } | {k: v for k, v in metrics.items() if not k.startswith("fields.")}
    exact = _metrics(spec | {"match": "exact"}, [_case(close, expected)])["metrics"]
    assert exact["fields.vendor"] == 0.0 and exact["fields.tax"] == 0.0  # "19.00" != 19
    assert exact["fields.total"] == 1.0  # tolerance applies in either mode


def _call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


@pytest.mark.parametrize(
    ("mode", "made", "expected"),
    [
        ("strict", [_call("a", x=1), _call("b")], True),
        ("strict", [_call("b"), _call("a", x=1)], False),
        ("unordered", [_call("b"), _call("a", x=1)], True),
        ("unordered", [_call("a", x=1)], False),
        ("subset", [_call("a", x=1)], True),
        ("subset", [_call("a", x=1), _call("c")], False),
        ("superset", [_call("c"), _call("b"), _call("a", x=1)], True),
        ("superset", [_call("b"), _call("a", x=2)], False),
    ],
)
def test_trajectory_modes(mode: str, made: list[dict[str, Any]], expected: bool) -> None:
    want = {"tool_calls": [_call("a", x=1), _call("b")]}
    case = _case({}, want, calls=made)
    metrics = _metrics({"kind": "trajectory", "mode": mode}, [case])["metrics"]
    assert metrics["trajectory.match"] == float(expected)


def test_trajectory_can_compare_tool_names_only() -> None:
    case = _case({}, {"tool_calls": [_call("a", x=1)]}, calls=[_call("a", x=2)])
    assert (
        _metrics({"kind": "trajectory", "args": False}, [case])["metrics"]["trajectory.match"] == 1
    )


def test_outcome_rates() -> None:
    cases = [_case({}, {}), _case({}, {}, status="error"), _case({}, {}, status="interrupted")]
    cases.append(_case({}, {}))
    metrics = _metrics({"kind": "outcome"}, cases)["metrics"]
    assert (metrics["outcome.error_rate"], metrics["outcome.interrupted_rate"]) == (0.25, 0.25)


def test_wrong_action_counts_an_invoice_paid_that_should_have_waited() -> None:
    spec = {"kind": "wrong_action", "name": "wrong_payment", "action": ["paid", "approved"]}
    cases = [
        _case({"status": "paid"}, {"status": "paid"}),  # right to pay
        _case({"status": "paid"}, {"status": "needs_review"}),  # paid, should have waited: wrong
        _case({"status": "needs_review"}, {"status": "paid"}),  # waited needlessly: not a payment
        _case({"status": "paid"}, {"status": "rejected"}, status="error"),  # failed: paid nothing
        _case({"status": "approved"}, {}),  # no expected outcome: not counted
    ]
    done = _metrics(spec, cases)
    assert [c.scores["wrong_payment.wrong"] for c in cases] == [0.0, 1.0, 0.0, 0.0, None]
    assert done["metrics"]["wrong_payment.wrong_rate"] == 0.25
    assert done["details"]["wrong_payment"]["wrong_cases"] == [cases[1].key]


def exact_words(output: Any, expected: dict[str, Any], case: CaseResult) -> dict[str, float]:
    """A custom scorer: share of expected words in the answer, and whether it is short."""
    words = expected["answer"].split()
    said = str(output.get("answer", "")).split()
    return {"recall": sum(w in said for w in words) / len(words), "short": len(said) <= 3}


def test_a_custom_scorer_is_a_plain_function_named_module_colon_function() -> None:
    cases = [
        _case({"answer": "pay by friday"}, {"answer": "pay friday"}),
        _case({"answer": "please pay the invoice soon"}, {"answer": "pay friday"}),
    ]
    spec = {"kind": "tests.evals.test_scorers:exact_words", "name": "words"}
    metrics = _metrics(spec, cases)["metrics"]
    assert metrics["words.recall"] == 0.75  # (2/2 + 1/2) / 2
    assert metrics["words.short"] == 0.5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "bleu"}, "unknown scorer 'bleu'"),
        ({"kind": "tests.evals.test_scorers:nothing"}, "has no function 'nothing'"),
        ({"kind": "no_such_module:f"}, "cannot import 'no_such_module'"),
        ({"kind": "trajectory", "mode": "loose"}, "mode must be one of strict"),
        ({"kind": "classification", "field": "x"}, "has no option 'field'"),
        ({"kind": "wrong_action"}, "needs `action`"),
    ],
)
def test_a_bad_scorer_spec_names_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_scorer(ScorerSpec.model_validate(spec))
