"""What the grounded reader builds while it reads: the values found, each with its evidence,
the problems and notes, and the confidences it gives a value by how it was found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.documents._amounts import Style
from tools.documents._hints import Hints
from tools.documents._invoice import Evidence, Invoice
from tools.documents._words import Box, Cell, Words

__all__ = ["Candidate", "Reading", "State"]

AMOUNTS = ("subtotal", "tax", "total")
DATES = ("issue_date", "due_date")
READ = 0.95  # a labelled value read once, or a table row whose numbers agree
CORROBORATED = 0.97  # a vendor identified and its name written on the document
DERIVED = 0.85  # a value the document implies (no tax written and total = subtotal)
NAME_ONLY = 0.4  # a vendor known by name alone: never enough to pay
NAME_SCORE = 88  # rapidfuzz partial token ratio for a name to count as written


@dataclass
class Reading:
    """What the grounded reader made of a document."""

    invoice: Invoice | None
    evidence: dict[str, Evidence]
    problems: list[str]
    notes: list[str]
    final: bool = False  # no other reader may try: not an invoice, or it talks to its reader


@dataclass
class Candidate:
    value: Any
    cell: Cell
    label: Cell
    how: str


@dataclass
class State:
    words: Words
    hints: Hints
    style: Style | None
    values: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    languages: dict[str, int] = field(default_factory=dict)  # label language -> labels seen
    label_lines: dict[int, str] = field(default_factory=dict)  # line index -> field it labels

    def fill(
        self, name: str, value: Any, box: Box | None, text: str, how: str, conf: float
    ) -> None:
        self.values[name] = value
        self.evidence[name] = Evidence(
            page=box.page if box else None,
            box=(box.x0, box.top, box.x1, box.bottom) if box else None,
            text=text,
            how=how,
            confidence=conf,
        )
