"""Text drawn into images (the report chart), in the reader's script and direction.

matplotlib (3.11 and later) lays out every string with libraqm: HarfBuzz joins Arabic letters
into their initial, medial and final forms and FriBiDi puts right-to-left text in visual
order. So a label must reach matplotlib in logical order and unshaped: shaping it beforehand
(arabic-reshaper, then python-bidi's ``get_display``) would reverse it a second time. What the
layout cannot guess is the direction of a line that starts with a number, and which runs
belong together ("0–10" drawn as "10–0" in a right-to-left line): that is what
``dialogs.i18n.directed`` adds to chat messages (a right-to-left mark, and left-to-right
isolates around numbers and Latin words), and it serves images as well.
"""

from __future__ import annotations

from dialogs.i18n import directed, gettext


def image_text(text: str) -> str:
    """``text`` (already in the reader's language) ready to draw."""
    return directed(text)


def image_gettext(message: str) -> str:
    """``gettext`` for a label drawn into an image."""
    return directed(gettext(message))
