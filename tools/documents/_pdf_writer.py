"""A minimal PDF writer: monospaced text lines on A4 pages, a real text layer, nothing else.

Enough to turn a generated invoice into the kind of PDF a vendor's billing system mails (text
that pypdf extracts), without a PDF library as a dependency for the eval and the demo alone.
"""

from __future__ import annotations

from collections.abc import Sequence

LINES_PER_PAGE = 64


def text_pdf(lines: list[str]) -> bytes:
    """Lay out lines in 9-point Courier, top to bottom, on as many pages as they need."""
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    return a4_pdf(
        ["Courier"],
        [
            b"BT /F1 9 Tf 11 TL 40 800 Td\n"
            + b"".join(b"(" + _escape(line) + b") Tj T*\n" for line in page)
            + b"ET"
            for page in pages
        ],
    )


def a4_pdf(fonts: Sequence[str], contents: Sequence[bytes]) -> bytes:
    """Return A4 pages, one a content stream, that may use the standard Type 1 `fonts` (in
    WinAnsi encoding) as /F1, /F2, ... in their order."""
    # Object numbers: 1 catalog, 2 page tree, the fonts, then a page and its content each.
    first_page = 3 + len(fonts)
    kids = [first_page + 2 * i for i in range(len(contents))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % k for k in kids), len(contents)),
    ]
    objects += [
        b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
        % font.encode()
        for font in fonts
    ]
    named = b" ".join(b"/F%d %d 0 R" % (n, 2 + n) for n in range(1, len(fonts) + 1))
    for number, body in zip(kids, contents, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << %s >> >> /Contents %d 0 R >>" % (named, number + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body))
    return assemble(objects)


def assemble(objects: list[bytes]) -> bytes:
    """Return a PDF file of these numbered objects (1 the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
