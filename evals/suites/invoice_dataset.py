"""Write the invoice suite's dataset from the extraction evaluation's cases (evals/extraction):
`python -m evals.suites.invoice_dataset [OUT]` (default: data/invoice beside this file).

Each generated document becomes an attachment beside `cases.jsonl` (the factur-x samples are
named where they are, in evals/datasets/facturx); `expected.invoice` is the ground
truth, or null where the right outcome is review (not an invoice; a document whose own numbers
are wrong), with `expected.review` saying so."""

from __future__ import annotations

import sys
from pathlib import Path

from evals.extraction.dataset import FACTURX, all_cases
from evals.harness.dataset import Case, write_dataset

OUT = Path(__file__).with_name("data") / "invoice"


def build(out: Path = OUT) -> int:
    """Write the attachments and cases.jsonl under `out`; return the number of cases."""
    attachments = out / "attachments"
    attachments.mkdir(parents=True, exist_ok=True)
    cases = []
    for source in all_cases():
        document = source.document
        if (FACTURX / document.filename).is_file():  # the samples stay where they are
            name = Path("..", "..", "..", "datasets", "facturx", document.filename).as_posix()
        else:
            name = f"attachments/{document.filename}"
            (attachments / document.filename).write_bytes(document.data())
        sound = source.consistent and source.truth is not None
        cases.append(
            Case(
                id=source.name,
                inputs={"document": name},
                expected={
                    "invoice": source.truth.model_dump(mode="json")
                    if sound and source.truth
                    else None,
                    "review": not sound,
                },
                tags=tuple(dict.fromkeys([source.group, source.group.split(":")[0]])),
            )
        )
    return write_dataset(out / "cases.jsonl", cases)


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
