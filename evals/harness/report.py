"""Reports of an experiment: a terminal table, JSON for machines and one self-contained HTML
file (no external assets) with per-metric bars, a latency histogram, the confusion matrix and
every case with its inputs, output, expected output, scores and their differences."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

from agent_ops.storage import EvalExperiment
from evals.harness.compare import Comparison, lower_is_better
from evals.harness.results import CaseResult, Experiment

__all__ = [
    "comparison_table",
    "differences",
    "experiments_table",
    "headline",
    "html_report",
    "json_report",
    "table",
]

# Metrics every experiment has; the headline shows the suite's own scores before them.
_COMMON = ("latency_ms.", "model_calls", "tokens", "cost_usd")

_BIG_MATRIX = 30  # labels beyond which the matrix lists its largest confusions instead


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def _rows(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def table(experiment: Experiment) -> str:
    """The metrics of an experiment as a terminal table, with its case counts."""
    rows = [[name, _fmt(value)] for name, value in experiment.metrics.items()]
    statuses = ", ".join(f"{k} {v}" for k, v in experiment.summary.get("statuses", {}).items())
    head = f"{experiment.name}: {experiment.summary.get('cases', 0)} runs ({statuses})"
    return head + "\n" + _rows(["metric", "value"], rows)


def headline(metrics: dict[str, float], scores: int = 3) -> dict[str, float]:
    """The first `scores` of the suite's own metrics, then the p50 latency and the cost."""
    own = [k for k in metrics if not k.startswith(_COMMON)][:scores]
    return {k: metrics[k] for k in [*own, "latency_ms.p50", "cost_usd"] if k in metrics}


def experiments_table(experiments: list[EvalExperiment]) -> str:
    """Recorded experiments, newest first: id, suite, when, case runs and headline metrics
    (`running` until it is scored)."""
    rows = [
        [
            e.experiment_id,
            e.suite,
            f"{e.created_at:%Y-%m-%d %H:%M:%S}",
            str(e.cases),
            "running"
            if e.metrics is None
            else "  ".join(f"{k}={_fmt(v)}" for k, v in headline(e.metrics).items()),
        ]
        for e in experiments
    ]
    if not rows:
        return "no experiments recorded"
    return _rows(["experiment", "suite", "started (UTC)", "runs", "metrics"], rows)


def comparison_table(result: Comparison) -> str:
    rows = []
    for name, entry in result.metrics.items():
        delta = entry["delta"]
        mark = ""
        if delta:
            better = (delta < 0) == lower_is_better(name)
            mark = " better" if better else " worse"
        sign = "+" if delta is not None and delta > 0 else ""
        rows.append([name, _fmt(entry["a"]), _fmt(entry["b"]), f"{sign}{_fmt(delta)}{mark}"])
    out = [f"A = {result.a}", f"B = {result.b}", _rows(["metric", "A", "B", "delta"], rows)]
    for title, cases in (("regressed", result.regressed), ("improved", result.improved)):
        out.append(f"{len(cases)} case(s) {title}" + (":" if cases else ""))
        out += [f"  {c['case']}: {'; '.join(c['changes'])}" for c in cases[:50]]
    out.append(f"{len(result.changed_output)} case(s) with a different output")
    if result.only_a or result.only_b:
        out.append(f"{result.only_a} case(s) only in A, {result.only_b} only in B (not compared)")
    return "\n".join(out)


def json_report(experiment: Experiment) -> dict[str, Any]:
    return {
        "experiment": experiment.name,
        "meta": experiment.meta,
        "summary": experiment.summary,
        "cases": [c.to_json() for c in experiment.cases],
    }


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def differences(expected: Any, output: Any) -> list[tuple[str, Any, Any]]:
    """The leaf paths of `expected` whose value in `output` differs: (path, expected, got)."""
    got = dict(_leaves(output))
    return [
        (path, want, got.get(path)) for path, want in _leaves(expected) if got.get(path) != want
    ]


def _esc(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return html.escape(text)


def _bars(metrics: dict[str, float]) -> str:
    rows = []
    for name, value in metrics.items():
        if not 0.0 <= value <= 1.0 or name.startswith(("latency", "tokens", "cost", "model_calls")):
            continue
        rows.append(
            f'<tr><td>{_esc(name)}</td><td class="bar"><span style="width:{value * 100:.1f}%">'
            f'</span></td><td class="num" data-metric="{_esc(name)}">{value:.4f}</td></tr>'
        )
    return '<table class="bars">' + "".join(rows) + "</table>"


def _histogram(cases: list[CaseResult], bins: int = 12) -> str:
    values = [c.latency_ms for c in cases]
    if not values:
        return ""
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / width))] += 1
    top = max(counts)
    cells = "".join(
        f'<div class="col" title="{low + i * width:.0f}-{low + (i + 1) * width:.0f} ms: {n}">'
        f'<span style="height:{100 * n / top:.0f}%"></span><small>{low + i * width:.0f}</small></div>'
        for i, n in enumerate(counts)
    )
    return f'<div class="hist">{cells}</div><p>latency per run, ms (bins from {low:.0f} to {high:.0f})</p>'


def _matrix(name: str, details: dict[str, Any]) -> str:
    labels, matrix = details["labels"], details["confusion"]
    if len(labels) > _BIG_MATRIX:
        confusions = sorted(
            (
                (matrix[i][j], want, got)
                for i, want in enumerate(labels)
                for j, got in enumerate(labels)
                if i != j and matrix[i][j]
            ),
            reverse=True,
        )[:40]
        rows = "".join(
            f"<tr><td>{_esc(w)}</td><td>{_esc(g)}</td><td class='num'>{n}</td></tr>"
            for n, w, g in confusions
        )
        return (
            f"<h3>{_esc(name)}: largest confusions ({len(labels)} labels)</h3>"
            f"<table><tr><th>expected</th><th>got</th><th>cases</th></tr>{rows}</table>"
        )
    head = "".join(f"<th>{_esc(label)}</th>" for label in labels)
    body = "".join(
        f"<tr><th>{_esc(want)}</th>"
        + "".join(
            f"<td class='num{' diag' if i == j else ''}'>{matrix[i][j] or ''}</td>"
            for j in range(len(labels))
        )
        + "</tr>"
        for i, want in enumerate(labels)
    )
    return (
        f"<h3>{_esc(name)}: confusion matrix (rows expected, columns got)</h3>"
        f"<table class='matrix'><tr><th></th>{head}</tr>{body}</table>"
    )


def _by_tag(by_tag: dict[str, dict[str, float]]) -> str:
    if not by_tag:
        return ""
    keys = sorted({k for row in by_tag.values() for k in row if k != "cases"})
    head = "".join(f"<th>{_esc(k)}</th>" for k in ["tag", "cases", *keys])
    body = "".join(
        f"<tr><td>{_esc(tag)}</td><td class='num'>{row['cases']}</td>"
        + "".join(f"<td class='num'>{_esc(_fmt(row.get(k)))}</td>" for k in keys)
        + "</tr>"
        for tag, row in by_tag.items()
    )
    return f"<h2>By tag</h2><table class='tags'><tr>{head}</tr>{body}</table>"


def _case(case: CaseResult) -> str:
    failed = [
        k for k, v in case.scores.items() if v is not None and v < 1 and not lower_is_better(k)
    ]
    failed += [k for k, v in case.scores.items() if v and lower_is_better(k)]
    diff = "".join(
        f"<tr><td>{_esc(p)}</td><td>{_esc(w)}</td><td>{_esc(g)}</td></tr>"
        for p, w, g in differences(case.expected, case.output)
    )
    scores = ", ".join(f"{k} {_fmt(v)}" for k, v in case.scores.items())
    return (
        f'<details class="case {"bad" if failed or case.status != "success" else "ok"}" '
        f'data-case="{_esc(case.key)}"><summary>{_esc(case.key)} · {case.status} · '
        f"{case.latency_ms:.0f} ms{' · ' + _esc(', '.join(failed)) if failed else ''}</summary>"
        f"<p>tags: {_esc(', '.join(case.tags)) or '-'}; model calls {case.model_calls}, tokens "
        f"{case.input_tokens}+{case.output_tokens}; run {_esc(case.run_id or '-')}</p>"
        f"<p>scores: {_esc(scores)}</p>"
        + (f"<pre class='error'>{_esc(case.error)}</pre>" if case.error else "")
        + f"<table class='diff'><tr><th>field</th><th>expected</th><th>got</th></tr>{diff}</table>"
        f"<div class='cols'><div><h4>inputs</h4><pre>{_esc(case.inputs)}</pre></div>"
        f"<div><h4>output</h4><pre>{_esc(case.output)}</pre></div>"
        f"<div><h4>expected</h4><pre>{_esc(case.expected)}</pre></div></div></details>"
    )


_STYLE = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}.num{text-align:right}
.bars td.bar{width:320px}.bars span{display:block;height:12px;background:#4a7bd0}
.hist{display:flex;align-items:flex-end;height:120px;gap:3px}.hist .col{flex:1;height:100%;
display:flex;flex-direction:column;justify-content:flex-end}.hist span{background:#4a7bd0;display:block}
.hist small{font-size:10px;color:#666}.matrix td.diag{background:#dfe9f8}
details.case{border-left:4px solid #6a6;padding:2px 8px;margin:4px 0}details.bad{border-color:#d55}
pre{white-space:pre-wrap;max-height:24em;overflow:auto;background:#f7f7f7;padding:6px}
.cols{display:flex;gap:12px}.cols>div{flex:1;min-width:0}.error{color:#a00}
"""


def html_report(experiment: Experiment) -> str:
    """One HTML page holding the whole report; its data is also embedded as JSON (#data)."""
    meta = experiment.meta
    details = experiment.summary.get("details", {})
    matrices = "".join(
        _matrix(name, d) for name, d in details.items() if isinstance(d, dict) and "confusion" in d
    )
    bad = [
        c
        for c in experiment.cases
        if c.status != "success"
        or any(
            (v is not None and v < 1 and not lower_is_better(k)) or (v and lower_is_better(k))
            for k, v in c.scores.items()
        )
    ]
    ordered = bad + [c for c in experiment.cases if c not in bad]
    data = json.dumps(json_report(experiment), default=str).replace("</", "<\\/")
    rows = "".join(
        f"<tr><td>{_esc(k)}</td><td class='num'>{_esc(_fmt(v))}</td></tr>"
        for k, v in experiment.metrics.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_esc(experiment.name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_esc(experiment.name)}</h1>"
        f"<p>suite {_esc(meta.get('suite'))}, graph {_esc(meta.get('graph'))}, "
        f"{experiment.summary.get('cases')} runs, models {_esc(meta.get('roles'))}, "
        f"prompts {_esc(meta.get('prompts'))}, replay {_esc(meta.get('replay'))}</p>"
        f"<h2>Metrics</h2>{_bars(experiment.metrics)}<table id='metrics'>{rows}</table>"
        f"<h2>Latency</h2>{_histogram(experiment.cases)}{matrices}"
        f"{_by_tag(details.get('by_tag', {}))}"
        f"<h2>Cases ({len(bad)} with a miss first)</h2>{''.join(_case(c) for c in ordered)}"
        f"<script type='application/json' id='data'>{data}</script></body></html>"
    )
