"""PDF in: the e-invoice XML a Factur-X or ZUGFeRD PDF carries, and the text layer (pypdf).

pypdf is blocking; callers run these in a thread. A file pypdf cannot read, an encrypted one
and one without pages all raise InvalidInput that says "unreadable".
"""

from __future__ import annotations

import io
import struct
import zlib

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from agent_ops.errors import InvalidInput

MAX_PAGES = 50  # a vendor invoice longer than this is not one; stop before parsing it all
# Names the Factur-X, ZUGFeRD 2 and ZUGFeRD 1 specifications give the embedded XML, first;
# any other .xml attachment after them (XRechnung in a PDF uses free names).
EINVOICE_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "ZUGFeRD-invoice.xml")
# What a malformed PDF makes pypdf raise besides its own errors.
_MALFORMED = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    RecursionError,
    zlib.error,
    struct.error,
    OSError,
)


class PdfContent:
    def __init__(self, attachments: list[tuple[str, bytes]], text: str, pages: int) -> None:
        self.attachments = attachments
        self.text = text
        self.pages = pages

    def einvoice_xml(self) -> list[tuple[str, bytes]]:
        """The XML attachments, the standard e-invoice names first."""
        xml = [(n, d) for n, d in self.attachments if n.lower().endswith(".xml")]
        known = [a for a in xml if a[0] in EINVOICE_NAMES]
        return known + [a for a in xml if a[0] not in EINVOICE_NAMES]


def read_pdf(data: bytes, name: str) -> PdfContent:
    """Read attachments and text of every page; InvalidInput when the file cannot be read."""
    if not data.lstrip()[:5] == b"%PDF-":
        raise InvalidInput(f"{name}: unreadable PDF: it does not start with %PDF-")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput(f"{name}: unreadable PDF: it is encrypted with a password")
        pages = len(reader.pages)
        if pages == 0:
            raise InvalidInput(f"{name}: unreadable PDF: it has no pages")
        if pages > MAX_PAGES:
            raise InvalidInput(f"{name}: {pages} pages; an invoice has at most {MAX_PAGES}")
        attachments = [
            (filename, content)
            for filename, contents in reader.attachments.items()
            for content in contents
        ]
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except _MALFORMED as exc:
        raise InvalidInput(f"{name}: unreadable PDF: {type(exc).__name__}: {exc}") from None
    return PdfContent(attachments, text, pages)
