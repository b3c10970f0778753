"""The MiniLM router on BANKING77: accuracy on queries it was not built from, and `unknown`
for queries that belong to no route, never a forced guess."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from agent_ops.models import (
    UNKNOWN,
    LabelledText,
    RouteDecision,
    Router,
    RouterConfig,
    evaluate_router,
)
from agent_ops.models._embedder import shared_embedder
from tests.refusals import refusal

SMALL_ROUTES = {
    "card_arrival": [
        "Where is my new card?",
        "My card still hasn't arrived",
        "card delivery status",
    ],
    "exchange_rate": ["What exchange rate do you use?", "How much is a euro in dollars today?"],
    "lost_card": ["I lost my card", "My card was stolen, please block it"],
}


@pytest.fixture(scope="module")
def decisions(banking_router: Router, banking_test: list[LabelledText]) -> list[RouteDecision]:
    return banking_router.route_batch([row.text for row in banking_test])


def test_router_routes_banking77_queries_it_was_not_built_from(
    banking_router: Router, banking_test: list[LabelledText], decisions: list[RouteDecision]
) -> None:
    # 62 routes with 10 examples each; 1,240 other queries of those routes. Measured 0.792
    # (0.819 on dev.csv). The model and numpy forward pass are deterministic, so the margin is
    # not for run-to-run noise but for what a change may legitimately move: the binomial
    # standard error of an accuracy near 0.8 over 1,240 queries is 1.1 points, and a drop of
    # three of those (to below 0.76) is a real regression, not a different sample.
    in_route = [
        (row, d) for row, d in zip(banking_test, decisions, strict=True) if row.label != UNKNOWN
    ]
    assert len(in_route) >= 1000
    accuracy = sum(d.label == row.label for row, d in in_route) / len(in_route)
    assert accuracy >= 0.76, f"accuracy {accuracy:.3f} on {len(in_route)} queries"
    # Every decision carries its evidence: the best routes, best first, and the margin.
    for d in decisions[:50]:
        scores = [alt.score for alt in d.alternatives]
        assert len(d.alternatives) == 3 and scores == sorted(scores, reverse=True)
        assert d.score == scores[0] and d.margin == pytest.approx(scores[0] - scores[1])


def test_out_of_domain_queries_come_back_unknown(
    banking_test: list[LabelledText], decisions: list[RouteDecision], out_of_domain: set[str]
) -> None:
    # 50 non-banking questions written for this repo (weather, cooking, code, ...). None scores
    # above 0.35 against any route (0.34 at most, measured), well below the 0.5 default.
    foreign = [
        (row, d)
        for row, d in zip(banking_test, decisions, strict=True)
        if row.text in out_of_domain
    ]
    assert len(foreign) == 50
    guessed = [
        (row.text, d.alternatives[0].label, d.score) for row, d in foreign if not d.is_unknown
    ]
    assert guessed == []
    assert max(d.score for _, d in foreign) < 0.45


def test_held_out_intents_score_lower_and_a_higher_threshold_sends_them_to_a_person(
    banking_router: Router,
    banking_test: list[LabelledText],
    decisions: list[RouteDecision],
    out_of_domain: set[str],
) -> None:
    # Ten BANKING77 intents the router was never given (120 queries). They are banking
    # questions close to real routes (card_linking next to card_arrival), so at the default
    # threshold only about 10% are caught; raising the threshold trades in-route queries sent
    # to a person for more of them caught. Measured at 0.6 on test.csv: 31% of held-out
    # queries unknown and 8.3% of in-route ones; asserted with a few points of room.
    held_out = [
        row.text for row in banking_test if row.label == UNKNOWN and row.text not in out_of_domain
    ]
    in_route = [row.text for row in banking_test if row.label != UNKNOWN]
    assert len(held_out) == 120
    by_text = {row.text: d for row, d in zip(banking_test, decisions, strict=True)}
    held_out_scores = [by_text[t].score for t in held_out]
    assert np.mean(held_out_scores) < np.mean([by_text[t].score for t in in_route]) - 0.05
    at_default = sum(by_text[t].is_unknown for t in held_out) / len(held_out)

    strict = banking_router.with_threshold(0.6)
    caught = sum(d.is_unknown for d in strict.route_batch(held_out)) / len(held_out)
    lost = sum(d.is_unknown for d in strict.route_batch(in_route[::4])) / len(in_route[::4])
    assert caught >= 0.25 and caught > at_default
    assert lost <= 0.12


def test_knn_scores_a_route_by_the_mean_of_its_k_nearest_examples() -> None:
    router = Router.from_examples(SMALL_ROUTES, method="knn", k=2)
    query = "has my card been sent yet?"
    decision = router.route(query)
    embedder = shared_embedder()
    q = embedder.encode([query])[0]
    expected = {}
    for label, texts in SMALL_ROUTES.items():
        similarities = sorted(embedder.encode(texts) @ q, reverse=True)
        expected[label] = float(np.mean(similarities[:2]))
    assert decision.label == "card_arrival"
    assert {a.label: a.score for a in decision.alternatives} == pytest.approx(expected, abs=1e-5)


def test_threshold_is_configurable_and_one_route_still_has_a_margin() -> None:
    router = Router.from_examples({"card_arrival": SMALL_ROUTES["card_arrival"]})
    decision = router.route("Where is my new card?")
    assert decision.label == "card_arrival" and decision.margin == decision.score
    assert router.with_threshold(1.0).route("my card has not come yet").is_unknown
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.label = "other"  # type: ignore[misc]


async def test_aroute_keeps_the_event_loop_free_while_the_model_runs() -> None:
    router = Router.from_examples(SMALL_ROUTES)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beating = asyncio.create_task(ticker())
    decisions = await router.aroute_batch(["I lost my wallet and card"] * 64)
    single = await router.aroute("what is today's rate for pounds?")
    beating.cancel()
    assert {d.label for d in decisions} == {"lost_card"} and single.label == "exchange_rate"
    assert ticks > 10


def test_router_config_loads_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "routes.yaml"
    yaml_file.write_text(
        "unknown_threshold: 0.4\n"
        "method: knn\n"
        "routes:\n"
        "  lost_card:\n"
        "    - I lost my card\n"
        "  card_arrival:\n"
        "    - Where is my card?\n"
    )
    json_file = tmp_path / "routes.json"
    json_file.write_text(json.dumps({"routes": SMALL_ROUTES}))
    from_yaml, from_json = RouterConfig.load(yaml_file), RouterConfig.load(json_file)
    assert from_yaml.unknown_threshold == 0.4 and from_yaml.method == "knn"
    assert list(from_yaml.routes) == ["lost_card", "card_arrival"]
    assert from_json.routes == SMALL_ROUTES and from_json.method == "centroid"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"routes": {"unknown": ["x"]}}', "`unknown` is reserved"),
        ('{"routes": {"a": []}}', "route 'a' has no examples"),
        ('{"routes": {"a": ["x"]}, "unknown_threshold": 2}', "unknown_threshold"),
        ('{"routes": {"a": ["x"]}, "treshold": 0.4}', "treshold: Extra inputs"),
        ('{"routes": {}}', "routes"),
        ("{routes", "not valid JSON/YAML"),
    ],
)
def test_bad_router_config_is_a_config_error_naming_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "routes.json"
    assert str(path) in refusal(path, content, RouterConfig.load, match=problem)


def test_evaluate_router_counts_unknown_precision_and_recall() -> None:
    router = Router.from_examples(SMALL_ROUTES)
    test = [
        LabelledText("my card never arrived", "card_arrival"),
        LabelledText("someone stole my card", "lost_card"),
        LabelledText("how do I bake bread?", UNKNOWN),
        LabelledText("what is the capital of Peru?", UNKNOWN),
    ]
    result = evaluate_router(router, test)
    assert (result.queries, result.routes) == (4, 3)
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert result.unknown_precision == 1.0 and result.unknown_recall == 1.0
    assert result.ms_per_query > 0 and result.ms_per_single_query > 0
