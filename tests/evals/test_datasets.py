"""Datasets as JSONL: read back what was written, malformed lines named by number, CSV import."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.errors import InvalidInput
from evals.harness import Case, Suite, import_csv, read_dataset, write_dataset
from tests.refusals import refusal


def test_a_dataset_written_is_read_back_case_for_case(tmp_path: Path) -> None:
    cases = [
        Case("one", {"text": "hi"}, {"label": "greet"}, ("small",)),
        Case("two", {"text": "pay"}, {}, ()),
    ]
    assert write_dataset(tmp_path / "d.jsonl", cases) == 2
    assert read_dataset(tmp_path / "d.jsonl").cases == tuple(cases)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"inputs": {"a": 1}', "line 2 is not valid JSON"),
        ("[1, 2]", "line 2 is not a JSON object"),
        ('{"inputs": 3}', "line 2: `inputs` must be an object, got 3"),
        ('{"inputs": {}, "expect": {}}', "line 2 has unknown key 'expect'"),
        ('{"inputs": {}, "tags": "x"}', "line 2: `tags` must be a list of strings"),
        ('{"id": "a", "inputs": {}}', "line 2 repeats case id 'a'"),
    ],
)
def test_a_malformed_line_is_refused_naming_its_number(
    tmp_path: Path, line: str, message: str
) -> None:
    text = '{"id": "a", "inputs": {"x": 1}}\n' + line + "\n"
    refusal(tmp_path / "d.jsonl", text, read_dataset, InvalidInput, match=message)


def test_csv_import_maps_columns_to_inputs_expected_and_tags(tmp_path: Path) -> None:
    source = tmp_path / "q.csv"
    source.write_text("key,text,label,kind\nk1,where is my card,card,a;b\nk2,hello,unknown,\n")
    cases = import_csv(source, inputs=["text"], expected=["label"], tags="kind", id_column="key")
    assert cases == [
        Case("k1", {"text": "where is my card"}, {"label": "card"}, ("a", "b")),
        Case("k2", {"text": "hello"}, {"label": "unknown"}, ()),
    ]
    with pytest.raises(InvalidInput, match="has no column 'query'; columns: key, text, label"):
        import_csv(source, inputs=["query"])


def test_the_import_command_writes_a_dataset_the_harness_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "q.csv"
    source.write_text("text,label\nwhere is my card,card\n")
    out = tmp_path / "d" / "cases.jsonl"
    argv = ["eval", "dataset", "import", str(source), "--out", str(out)]
    assert main([*argv, "--input", "text", "--expected", "label"]) == 0
    assert capsys.readouterr().out.strip() == f"1 cases written to {out}"
    (case,) = read_dataset(out).cases
    assert (case.inputs, case.expected) == ({"text": "where is my card"}, {"label": "card"})


def test_a_suite_builds_the_graph_input_from_a_case_and_its_attachment(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "inv.pdf").write_bytes(b"%PDF-1.4 tiny")
    (tmp_path / "suite.yaml").write_text(
        "name: s\ngraph: g\ndataset: cases.jsonl\n"
        "input: {document: '$attachment:inputs.file', meta: {who: $inputs.who}, fixed: 1}\n"
        "scorers: [{kind: outcome}]\n"
    )
    suite = Suite.load(tmp_path / "suite.yaml")
    assert suite.dataset == tmp_path / "cases.jsonl"
    case = Case("c", {"file": "files/inv.pdf", "who": "ann"})
    assert suite.graph_input(case, tmp_path) == {
        "document": {
            "filename": "inv.pdf",
            "media_type": "application/pdf",
            "data_b64": base64.b64encode(b"%PDF-1.4 tiny").decode(),
        },
        "meta": {"who": "ann"},
        "fixed": 1,
    }
    with pytest.raises(InvalidInput, match="case c: no 'who'"):
        suite.graph_input(Case("c", {"file": "files/inv.pdf"}), tmp_path)
