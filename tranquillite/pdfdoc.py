"""A small text PDF (fpdf2, core fonts): what the destruction attestation and the indicators' weekly
briefing print — lines of text of a size and style, section titles, A4 pages breaking by themselves."""

from __future__ import annotations

from typing import Any

_LATIN1 = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2014": "-",
    "\u2013": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2192": "->",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u0153": "oe",
    "\u0152": "OE",
    "\u20ac": "EUR",
}


def latin1(s: Any) -> str:
    """A text the PDF core fonts can print (Latin-1): typographic signs replaced, the rest as '?'."""
    text = str(s)
    for a, b in _LATIN1.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


class TextPdf:
    """`line(text, size, style, h)` and `title(text)` on A4 pages; `output()` gives the bytes."""

    def __init__(self, title: str, author: str | None = None) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(True, margin=15)
        self.pdf.set_title(latin1(title))
        if author:
            self.pdf.set_author(latin1(author))
        self.pdf.add_page()
        self.width = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def line(self, text: str, size: float = 10, style: str = "", h: float = 5) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.set_font("Helvetica", style, size)
        self.pdf.multi_cell(self.width, h, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def title(self, text: str) -> None:
        self.pdf.ln(3)
        self.line(text, 12, "B", 7)

    def output(self) -> bytes:
        return bytes(self.pdf.output())
