"""`extract_invoice`: try the readings in order of trust and return the best valid one.

E-invoice XML (alone or inside a PDF) is read by its schema and is final. Otherwise the text
(of a PDF's text layer, a text file or an e-mail body) goes to the known layouts, then to the
grounded reader (the document's words and positions against the caller's `Hints`), and only
when neither reads an invoice, to the model. A layout's or the grounded reader's invoice is
final: it reads what is written, so if that does not add up the document is wrong and a model's
other reading would only hide it. Bad input never raises: it comes back as an extraction
without an invoice whose problems say why.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from agent_ops.deps import deps_for
from agent_ops.errors import ConfigError, InvalidInput, ModelUnavailable
from agent_ops.models import Models
from tools.documents._cii import read_cii
from tools.documents._document import PDF, Document
from tools.documents._grounded import read_grounded
from tools.documents._hints import Hints
from tools.documents._instructions import instructions_in, instructions_problem
from tools.documents._invoice import Extraction
from tools.documents._layouts import read_layouts
from tools.documents._model import read_with_model
from tools.documents._pdf import read_pdf
from tools.documents._ubl import read_ubl
from tools.documents._validation import (
    DEFAULT_MIN_CONFIDENCE,
    Checks,
    needs_review,
    validate,
)
from tools.documents._words import Words, pdf_words, text_words
from tools.documents._xml import looks_like_xml, parse_invoice_xml, schema_problems

log = logging.getLogger(__name__)
SOURCES = {"ubl": "ubl-2.1", "cii": "cii-d16b", "zugferd1": "zugferd-1.0"}


async def extract_invoice(
    document: Document,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    checks: Checks | None = None,
    models: Models | None = None,
    use_model: bool = True,
    hints: Hints | None = None,
) -> Extraction:
    """Read an invoice from a document; never raises for bad input.

    The result's `review` says whether a person must check it (`needs_review` at
    `min_confidence`). `hints` (known suppliers, their open orders, the sender) let the
    grounded reader identify the vendor and find the order's lines; without them it still
    reads labels and tables but identifies no vendor. `models` defaults to the running graph's
    (`agent_ops.deps.deps_for().models`); `use_model` False stops before the model.
    """
    reading = await _read(document, _Options(checks, models, use_model, hints))
    return reading.model_copy(update={"review": needs_review(reading, min_confidence)})


@dataclass(frozen=True)
class _Options:
    checks: Checks | None
    models: Models | None
    use_model: bool
    hints: Hints | None


async def _read(document: Document, options: _Options) -> Extraction:
    try:
        data = document.data()
    except InvalidInput as exc:
        return _nothing(str(exc))
    name = document.filename
    if document.text is None and (document.media_type == PDF or data.startswith(b"%PDF-")):
        return await _from_pdf(data, name, options)
    if document.text is None and looks_like_xml(data):
        return await asyncio.to_thread(_from_xml, data, name, options.checks)
    if document.text is not None:
        text = document.text
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _nothing(
                f"document: {name} ({document.media_type}) is neither a PDF, e-invoice XML nor "
                "UTF-8 text"
            )
    return await _from_text(text, name, options, [], None)


def _nothing(problem: str, notes: list[str] | None = None) -> Extraction:
    return Extraction(
        invoice=None, method="none", source="none", problems=[problem], notes=notes or []
    )


def _from_xml(data: bytes, name: str, checks: Checks | None) -> Extraction:
    said = instructions_in(data.decode("utf-8", "replace"))
    reading = _xml_reading(data, name, checks)
    return _instructed(reading, said) if said else reading


def _instructed(extraction: Extraction, said: str) -> Extraction:
    """The reading with the problem that a person must read it: it instructs its reader."""
    problem = instructions_problem(said)
    if problem in extraction.problems:
        return extraction
    return extraction.model_copy(update={"problems": [*extraction.problems, problem]})


def _xml_reading(data: bytes, name: str, checks: Checks | None) -> Extraction:
    try:
        xml = parse_invoice_xml(data, name)
    except InvalidInput as exc:
        return _nothing(f"document: {exc}")
    problems = schema_problems(xml)
    if xml.flavor == "ubl":
        invoice, read_problems = read_ubl(xml.root)
    else:
        invoice, read_problems = read_cii(xml.root, zugferd1=xml.flavor == "zugferd1")
    reading = Extraction(
        invoice=invoice,
        method="ubl" if xml.flavor == "ubl" else "cii",
        source=SOURCES[xml.flavor],
        problems=[*problems, *read_problems],
    )
    checked = validate(reading, checks=checks)
    if problems and checked.invoice is not None:
        # Not schema-valid: what was read may be wrong anywhere, so no field is trusted.
        confidence = {k: round(v * 0.25, 4) for k, v in checked.confidence.items()}
        checked = checked.model_copy(update={"confidence": confidence})
    return checked


async def _from_pdf(data: bytes, name: str, options: _Options) -> Extraction:
    try:
        pdf = await asyncio.to_thread(read_pdf, data, name)
    except InvalidInput as exc:
        return _nothing(f"document: {exc}")
    notes: list[str] = []
    for attachment, xml in pdf.einvoice_xml():
        reading = await asyncio.to_thread(_from_xml, xml, f"{name}/{attachment}", options.checks)
        if reading.invoice is not None:
            return reading.model_copy(
                update={"source": f"{reading.source} in {name}/{attachment}", "notes": notes}
            )
        notes.extend(f"embedded {attachment}: {p}" for p in reading.problems)
    if not pdf.text.strip():
        return _nothing(
            f"document: {name} has no text layer (a scanned image?); it needs a person or OCR",
            notes,
        )
    return await _from_text(pdf.text, name, options, notes, data)


async def _from_text(
    text: str, name: str, options: _Options, notes: list[str], pdf: bytes | None
) -> Extraction:
    if not text.strip():
        return _nothing(f"document: {name} is empty", notes)
    said = instructions_in(text)
    if said is None:
        return await _text_reading(text, name, options, notes, pdf)
    # Read it for the person who will, but never hand text that talks to its reader to a model.
    options = replace(options, use_model=False)
    return _instructed(await _text_reading(text, name, options, notes, pdf), said)


async def _text_reading(
    text: str, name: str, options: _Options, notes: list[str], pdf: bytes | None
) -> Extraction:
    checks = options.checks
    layout, result = read_layouts(text)
    if layout is not None and not isinstance(result, list):
        # A layout that fits reads what is written; if that does not add up the document is
        # wrong, and a model's different reading would only hide it. So its reading is final.
        reading = Extraction(invoice=result, method="layout", source=f"layout:{layout.name}")
        return validate(reading, checks=checks).model_copy(update={"notes": notes})
    assert isinstance(result, list)
    notes.extend(result)
    try:
        words = await asyncio.to_thread(pdf_words, pdf, name) if pdf else text_words(text)
    except InvalidInput as exc:
        notes.append(f"grounded: {exc}")
        words = text_words(text)
    grounded = await asyncio.to_thread(_grounded, words, options.hints, checks, notes)
    if grounded.invoice is not None or grounded.source == "grounded:final":
        return grounded
    unread = grounded.problems
    notes.extend(f"grounded: {p}" for p in unread)
    model_reading = None
    if options.use_model:
        model_reading = await _model_reading(text, checks, options.models, notes)
    if model_reading is None:
        first = (
            f"document: no method could read {name}"
            if options.use_model
            else f"document: no known layout fits {name} and the grounded reader found no "
            "invoice (model not used)"
        )
        # what was and was not found, for the person who reads it instead
        return Extraction(
            invoice=None, method="none", source="none", problems=[first, *unread], notes=notes
        )
    return model_reading.model_copy(update={"notes": notes})


def _grounded(
    words: Words, hints: Hints | None, checks: Checks | None, notes: list[str]
) -> Extraction:
    """The grounded reading, validated; source `grounded:final` when no one else may try."""
    reading = read_grounded(words, hints)
    source = f"grounded:{words.kind}"
    if reading.invoice is None and reading.final:
        source = "grounded:final"
    extraction = Extraction(
        invoice=reading.invoice,
        method="grounded" if reading.invoice is not None else "none",
        source=source,
        problems=reading.problems,
        notes=[*notes, *reading.notes],
        evidence=reading.evidence,
    )
    return validate(extraction, checks=checks)


async def _model_reading(
    text: str, checks: Checks | None, models: Models | None, notes: list[str]
) -> Extraction | None:
    try:
        if models is None:
            models = deps_for().need_models()  # the running graph's (a ConfigError outside)
        invoice, source = await read_with_model(models, text)
    except (ModelUnavailable, ConfigError) as exc:
        notes.append(f"model: {exc}")
        return None
    return validate(
        Extraction(invoice=invoice, method="model", source=source), checks=checks, text=text
    )
