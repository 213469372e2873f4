"""A flyer drawn from its texts and links: pure rendering, no I/O (``bot.domain.flyers``
gathers what goes on it).

Text is laid out by Pillow with libraqm (``ImageFont.Layout.RAQM``): HarfBuzz joins Arabic
letters into their initial, medial and final forms, FriBiDi orders a right-to-left line, so
every string goes in in logical order, unshaped (as in ``bot.analytics.image_text``). Arabic lines are
drawn right to left and aligned right. The font is DejaVu Sans as matplotlib ships it (Latin
and Arabic in one font; its licence travels with matplotlib). QR codes are made with segno;
the short link is written under each.

One layout serves both sizes: a 1080x1350 PNG (WhatsApp status and groups) and an A5 page
at 300 dpi for the PDF; everything is measured in fractions of the width.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

PNG_SIZE = (1080, 1350)
A5_DPI = 300
A5_SIZE = (round(148 / 25.4 * A5_DPI), round(210 / 25.4 * A5_DPI))  # 1748 x 2480

BACKGROUND = "#FFF8EE"
BAND = "#1F5F5B"
INK = "#1E1E1E"
ACCENT = "#C2410C"
MUTED = "#5B5B5B"


@dataclass(frozen=True)
class QrLink:
    label: str  # "Telegram", "WhatsApp"
    url: str  # what the QR code holds
    short: str  # what is written under it


@dataclass(frozen=True)
class FlyerContent:
    rtl: bool
    language: str  # for the text layout (raqm's language tag)
    title: str
    sentence: str
    when: str
    place: str  # "" when the series has no place
    free: str  # "" when not configured
    scan: str  # "Scan with your phone's camera"
    organisation: str
    codes: tuple[QrLink, ...]


@cache
def _font_path(bold: bool) -> str:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name)


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(bold), size, layout_engine=ImageFont.Layout.RAQM)


def text_width(text: str, face: ImageFont.FreeTypeFont, rtl: bool) -> float:
    return face.getlength(text, direction="rtl" if rtl else "ltr")


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, rtl: bool) -> list[str]:
    """Greedy word wrap, measured with the shaped text (words stay in logical order)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):  # not at no-break spaces (inside a date)
            if not word:
                continue
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, face, rtl) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


class _Page:
    """A cursor down the page: each block is drawn under the previous one."""

    def __init__(self, image: Image.Image, content: FlyerContent) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.content = content
        self.width, self.height = image.size
        self.margin = round(self.width * 0.08)
        self.y = 0

    def unit(self, fraction: float) -> int:
        return max(1, round(self.width * fraction))

    def text(self, text: str, size: float, *, bold: bool = False, fill: str = INK, center: bool = False,
             gap: float = 0.3) -> None:
        """Draw ``text`` wrapped to the margins (right-aligned in a right-to-left language)."""
        face = font(self.unit(size), bold)
        rtl = self.content.rtl
        for line in wrap(text, face, self.width - 2 * self.margin, rtl):
            if center:
                x, anchor = self.width / 2, "ma"
            elif rtl:
                x, anchor = self.width - self.margin, "ra"
            else:
                x, anchor = self.margin, "la"
            self.draw.text(
                (x, self.y), line, font=face, fill=fill, anchor=anchor,
                direction="rtl" if rtl else "ltr", language=self.content.language,
            )
            self.y += round(face.size * 1.3)
        self.y += round(face.size * gap)


def render(content: FlyerContent, size: tuple[int, int] = PNG_SIZE) -> Image.Image:
    image = Image.new("RGB", size, BACKGROUND)
    page = _Page(image, content)
    band = page.unit(0.25)
    page.draw.rectangle((0, 0, page.width, band), fill=BAND)
    page.y = page.unit(0.05)
    page.text(content.organisation, 0.032, fill="#D9EDEA")
    page.text(content.title, 0.068, bold=True, fill="white", gap=0.1)
    page.y = max(page.y, band) + page.unit(0.04)
    page.text(content.sentence, 0.036, gap=0.5)
    page.text(content.when, 0.038, bold=True, fill=ACCENT)
    if content.place:
        page.text(content.place, 0.034)
    if content.free:
        page.text(content.free, 0.034, fill=BAND, bold=True)
    _codes(page, content)
    return image


def _codes(page: _Page, content: FlyerContent) -> None:
    """The "scan" line, then the QR codes side by side in the room left at the foot of the
    page, each with its label above and its short link under it."""
    if not content.codes:
        return
    page.y += page.unit(0.01)
    page.text(content.scan, 0.03, fill=MUTED, center=True, gap=0.2)
    column = (page.width - 2 * page.margin) / len(content.codes)
    label_face = font(page.unit(0.032), True)
    short_face = font(page.unit(0.022))
    label_room = round(label_face.size * 1.4)
    room = page.height - page.y - label_room - round(short_face.size * 3.4) - page.unit(0.02)
    side = max(round(min(column * 0.9, room)), 1)
    top = page.y
    order = list(content.codes)[::-1] if content.rtl else list(content.codes)
    for index, code in enumerate(order):
        middle = page.margin + column * (index + 0.5)
        page.draw.text((middle, top), code.label, font=label_face, fill=INK, anchor="ma")
        page.image.paste(qr_image(code.url, side), (round(middle - side / 2), top + label_room))
        y = top + label_room + side + round(short_face.size * 0.3)
        for line in _short_lines(code.short, short_face, column * 0.96):
            page.draw.text((middle, y), line, font=short_face, fill=MUTED, anchor="ma")
            y += round(short_face.size * 1.2)


def _short_lines(link: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """The link on one line, or broken before its "?" when it is wider than its column."""
    if face.getlength(link) <= width or "?" not in link:
        return [link]
    head, tail = link.split("?", 1)
    return [head, "?" + tail]


def qr_image(url: str, side: int) -> Image.Image:
    """A QR code of ``url``, ``side`` pixels square (quiet zone included), sharp edges."""
    qr = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    modules = qr.symbol_size(scale=1, border=4)[0]
    qr.save(buffer, kind="png", scale=max(1, side // modules), border=4)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB")
    return image.resize((side, side), Image.Resampling.NEAREST)


def png(content: FlyerContent) -> bytes:
    buffer = io.BytesIO()
    render(content, PNG_SIZE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def pdf(content: FlyerContent) -> bytes:
    """An A5 page (148 x 210 mm) at 300 dpi."""
    buffer = io.BytesIO()
    render(content, A5_SIZE).save(buffer, format="PDF", resolution=A5_DPI)
    return buffer.getvalue()
