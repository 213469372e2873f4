"""The research note as a PDF: the same sections as the HTML note (``bot.analytics.research_note``),
laid out by fpdf2 with HarfBuzz text shaping (uharfbuzz) and its bidi algorithm, so Arabic
letters join and right-to-left lines read in order (numbers too), in the DejaVu Sans that comes
with matplotlib. Pure: figures in, bytes out; fpdf2 and uharfbuzz are wheels from PyPI, no
system libraries. Not through fpdf2's HTML renderer: it splits a line into fragments and then
reverses the digits of an Arabic line.
"""

from __future__ import annotations

import io
import re
import struct
from datetime import datetime
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from bot.analytics import research_note
from bot.analytics.research_note import Para, Picture, Subhead, Table
from dialogs.i18n import _, use_locale

ISOLATES = re.compile("[\u2066-\u2069]")
"""The bidi isolates ``fill`` puts around inserted values; fpdf2's bidi works per paragraph,
and DejaVu has no glyph for them."""
GREY = (110, 110, 110)


@cache
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _plain(text: str) -> str:
    return ISOLATES.sub("", text)


def render_pdf(note: research_note.Note, language: str = "nl", map_png: bytes | None = None,
               now: datetime | None = None) -> bytes:
    rtl = language in research_note.RTL
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        pdf.add_font("DejaVu", style, str(_font_dir() / name))
    pdf.set_text_shaping(True)
    align = "R" if rtl else "L"
    with use_locale(language):
        hidden = _plain(_("hidden"))
        pdf.set_title(_plain(research_note.title_of(note, language)))
        pdf.add_page()

        def text(value: str, size: float, bold: bool = False, colour: tuple[int, int, int] = (0, 0, 0),
                 gap: float = 2) -> None:
            pdf.set_font("DejaVu", "B" if bold else "", size)
            pdf.set_text_color(*colour)
            pdf.multi_cell(0, size * 0.5, _plain(value), align=align, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(gap)

        text(research_note.title_of(note, language), 18, bold=True, colour=(140, 20, 20))
        text(research_note.made_on(note, language, now), 9, colour=GREY, gap=4)
        for section in research_note.sections(note, language, map_png):
            _keep_room(pdf, KEEP_WITH_TITLE + sum(_picture_height(pdf, b) for b in section.blocks[:2]
                                                  if isinstance(b, Picture)))
            text(section.title, 14, bold=True, colour=(140, 20, 20))
            for block in section.blocks:
                if isinstance(block, Para):
                    text(block.text, 10)
                elif isinstance(block, Subhead):
                    _keep_room(pdf, KEEP_WITH_TITLE)
                    text(block.text, 11, bold=True)
                elif isinstance(block, Picture):
                    pdf.image(io.BytesIO(block.png), w=pdf.epw)
                    pdf.ln(3)
                elif isinstance(block, Table):
                    _table(pdf, block, hidden, rtl)
            pdf.ln(3)
    return bytes(pdf.output())


KEEP_WITH_TITLE = 40
"""Millimetres a title or subtitle needs below it (a paragraph and a few table rows), or it
starts on a new page instead of standing alone at the bottom of one."""
BREAKS = re.compile(r"\s+")
"""Where fpdf2 wraps a table cell's text: at spaces only (a longer word it cuts anywhere)."""
CELL_SLACK = 3
"""Millimetres a column needs besides its text: the cell's padding on both sides, and a
little air."""


def _keep_room(pdf: FPDF, needed: float) -> None:
    if pdf.get_y() + needed > pdf.page_break_trigger:
        pdf.add_page()


def _picture_height(pdf: FPDF, block: Picture) -> float:
    """The height of a PNG drawn across the page, from its header's width and height."""
    width, height = struct.unpack(">II", block.png[16:24])
    return float(pdf.epw * height / width + 5)


def _widths(pdf: FPDF, block: Table, hidden: str) -> list[float]:
    """Each column at least as wide as its longest word (so no word is cut in two), and what
    the page has left shared by how much more each column's longest text would need, so a
    column of long statements gets the room and a column of percentages does not."""
    shortest, longest = [], []
    for index, head in enumerate(block.head):
        cells = [(head, "B"), *((_plain(cell or hidden), "") for cell in (row[index] for row in block.rows))]
        words = longest_line = 0.0
        for value, style in cells:
            pdf.set_font("DejaVu", style, 8)
            words = max([words, *(pdf.get_string_width(word) for word in BREAKS.split(value))])
            longest_line = max(longest_line, pdf.get_string_width(value))
        shortest.append(words + CELL_SLACK)
        longest.append(max(longest_line, words) + CELL_SLACK)
    room = pdf.epw - sum(shortest)
    more = [want - least for want, least in zip(longest, shortest, strict=True)]
    if room <= 0:  # even the words do not fit: the narrowest columns the page allows
        return shortest
    if sum(more) <= room:  # every text on one line: the rest of the page shared alike
        return [want + (room - sum(more)) / len(longest) for want in longest]
    return [least + room * extra / sum(more) for least, extra in zip(shortest, more, strict=True)]


def _table(pdf: FPDF, block: Table, hidden: str, rtl: bool) -> None:
    widths = _widths(pdf, block, hidden)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(0, 0, 0)
    if rtl:  # columns run from the right, as in the HTML note
        widths.reverse()
    with pdf.table(col_widths=widths, text_align="RIGHT" if rtl else "LEFT", line_height=4.2,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235))) as table:
        for cells in (block.head, *block.rows):
            shown = [hidden if cell is None else _plain(cell) for cell in cells]
            row = table.row()
            for cell in (reversed(shown) if rtl else shown):
                row.cell(cell)
    pdf.ln(3)
