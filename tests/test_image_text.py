"""Arabic in the report chart: drawn in Arabic, letters joined, numbers left to right.

The chart is built for an Arabic-speaking coordinator and drawn; every Arabic word on it is
then laid out by matplotlib's own text engine (the one that draws it, through the public
``TextToPath``) with the artist's font, and each letter must come out in the form its place in
the word asks for (initial, medial, final or isolated, lam-alef as one ligature), as the
Unicode names of the presentation forms say. A renderer that does not shape draws every letter
in its isolated form: ``test_the_check_catches_unjoined_letters`` shows the check catches that.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from matplotlib.font_manager import fontManager, get_font
from matplotlib.text import Text
from matplotlib.textpath import TextToPath

from bot.analytics.report_chart import chart
from bot.store import report_data
from dialogs.i18n import _, use_locale
from tests.test_report import GEUZENVELD, OSDORP, SLOTERVAART, response, store

ARABIC_WORD = re.compile(r"[\u0621-\u064a\u064b-\u0652\u0670\u0671-\u06d3]+")
MARKS = frozenset(chr(c) for c in range(0x064B, 0x0653)) | {"\u0670"}
ALEFS = {"\u0627", "\u0623", "\u0625", "\u0622"}
LAM = "\u0644"


def _form(letter: str, form: str) -> str | None:
    """The presentation form of ``letter`` (ISOLATED, FINAL, INITIAL, MEDIAL), if it has one."""
    try:
        return unicodedata.lookup(f"{unicodedata.name(letter)} {form} FORM")
    except KeyError:
        return None


def _joins_left(letter: str) -> bool:
    """Dual-joining letters have an initial form; right-joining ones (ا د ر و ...) do not."""
    return _form(letter, "INITIAL") is not None


def expected_forms(word: str) -> list[set[str]]:
    """For each letter of ``word`` (marks dropped, lam-alef as one), in logical order, the
    characters whose glyph may draw it: its joined presentation form, or, where it stands
    alone, its isolated form or the letter itself (fonts map both, to different glyphs)."""
    letters = [ch for ch in word if ch not in MARKS]
    out, i = [], 0
    while i < len(letters):
        letter = letters[i]
        after_joiner = i > 0 and _joins_left(letters[i - 1])
        if letter == LAM and i + 1 < len(letters) and letters[i + 1] in ALEFS:
            alef = unicodedata.name(letters[i + 1]).removeprefix("ARABIC LETTER ")
            position = "FINAL" if after_joiner else "ISOLATED"
            out.append({unicodedata.lookup(f"ARABIC LIGATURE LAM WITH {alef} {position} FORM")})
            i += 2
            continue
        before_joiner = i + 1 < len(letters) and _joins_left(letter) and _form(letters[i + 1], "FINAL")
        position = {(True, True): "MEDIAL", (True, False): "FINAL", (False, True): "INITIAL"}.get(
            (after_joiner, bool(before_joiner)), "ISOLATED"
        )
        out.append({_form(letter, position) or letter} | ({letter} if position == "ISOLATED" else set()))
        i += 1
    return out


def drawn_glyphs(font, text: str) -> list[int]:
    """The glyph indices matplotlib draws for ``text``, left to right."""
    engine = TextToPath()
    font.set_size(engine.FONT_SCALE, engine.DPI)
    glyphs, _map, _rects = engine.get_glyphs_with_font(font, text)
    return [int(name.rsplit("-", 1)[1], 16) for name, *_position in glyphs]


def unjoined(font, word: str, drawn: list[int]) -> list[str]:
    """Letters of ``word`` not drawn in their joined form (``drawn``: left to right)."""
    marks = {font.get_char_index(ord(mark)) for mark in MARKS}
    letters = [g for g in drawn if g not in marks]
    wanted = [{font.get_char_index(ord(ch)) for ch in allowed} for allowed in reversed(expected_forms(word))]
    if len(letters) == len(wanted) and all(g in ok for g, ok in zip(letters, wanted, strict=True)):
        return []
    return [f"{word!r}: drawn {letters}, joined forms are {wanted}"]


# October and November 2026 are closed months here (month M is shown from the 1st of M+2), so
# the chart draws its trend and map, and the labels on them, instead of "nothing to show yet".
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


async def _arabic_chart(db, settings):
    rows = [response("2026-W41", OSDORP) for _ in range(25)]
    rows += [response("2026-W46", SLOTERVAART, items=(1, 2, 2, 0, 0, 1)) for _ in range(30)]
    rows += [response("2026-W47", GEUZENVELD, language="ar") for _ in range(20)]
    await store(db, rows)
    async with db.transaction() as connection:
        built = await report_data.build(connection, settings, NOW)
    figure = chart(built, "ar")
    figure.canvas.draw()  # tick labels are set when drawn
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


def test_the_check_catches_unjoined_letters():
    font = get_font(fontManager.findfont("DejaVu Sans"))
    word = "المشاركة"
    unshaped = [font.get_char_index(ord(ch)) for ch in reversed(word)]  # no shaping: isolated letters
    assert unjoined(font, word, unshaped)
    assert unjoined(font, word, drawn_glyphs(font, word)) == []
    assert expected_forms("سلام") == [{"\ufeb3"}, {"\ufefc"}, {"\ufee1", "\u0645"}]


async def test_the_arabic_chart_is_drawn_in_arabic_with_joined_letters(db, settings):
    texts = await _arabic_chart(db, settings)
    with use_locale("ar"):
        title = _("Check-ins: loneliness and taking part (anonymous)")
    assert any(title in t.get_text() for t in texts), "the chart is in Arabic"
    problems, words = [], 0
    for artist in texts:
        font = get_font(fontManager.findfont(artist.get_fontproperties()))
        for word in ARABIC_WORD.findall(artist.get_text()):
            words += 1
            problems += unjoined(font, word, drawn_glyphs(font, word))
    assert words > 30
    assert problems == []


async def test_numbers_in_an_arabic_label_keep_their_order(db, settings):
    texts = await _arabic_chart(db, settings)
    label = next(t for t in texts if "0–10" in t.get_text())
    font = get_font(fontManager.findfont(label.get_fontproperties()))
    digits = {font.get_char_index(ord(ch)): ch for ch in "01–"}
    drawn = "".join(digits.get(g, "") for g in drawn_glyphs(font, label.get_text()))
    assert "0–10" in drawn, drawn
