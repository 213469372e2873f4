"""Typed answers to a question with buttons: on WhatsApp (numbered lists) and for anyone who
types instead of tapping. ``"2"``, the label itself, or an obvious variant all count.

What counts as "obvious", in every language, and nothing more (a wrong guess is worse than
asking again):

- the option's number, however it is written: ``2``, ``2.``, ``2)``, ``(2)``, ``#2``, ``2️⃣``,
  ``٢`` (Arabic-Indic), ``۲`` (Persian), full-width ``２``; also the number followed by that
  option's own label (``2 العربية``, what a man copies from the list);
- the label, ignoring case, accents, Arabic vowel marks and letter variants (أ/إ/آ → ا,
  ة → ه, ى → ي), punctuation, emoji and spacing;
- the label's first words, when they are whole words of at least three letters and only one
  option starts with them (``ja`` is covered below; ``mannen`` picks "Mannen in gesprek");
- a plain yes or no in any of our languages (``ja``, ``yes``, ``haa``, ``نعم`` / ``nee``,
  ``no``, ``maya``, ``لا``) picks the one option whose label starts with a yes (or no) word,
  so "yes" answers a Somali "Haa, waa hagaag" too; "ok" is deliberately not a yes (it would
  erase everything at the erase question);
- a few other names of our languages (``arabic``, ``عربي``, ``somali``, ``dutch``, ...) for the
  language menu, whose labels are each language's own name.

Pure: no I/O, no locale; the same answer means the same option for every reader.
"""

from __future__ import annotations

import unicodedata

from dialogs.types import Option

YES_WORDS = frozenset(
    {"ja", "jawel", "jazeker", "yes", "yeah", "yep", "haa", "haye", "نعم", "ايوه", "ايوا", "اجل", "aywa"}
)
NO_WORDS = frozenset({"nee", "neen", "no", "nope", "maya", "لا", "la"})

LANGUAGE_ALIASES = {
    alias: label
    for label, aliases in {
        "nederlands": ("dutch", "hollands", "nederlandse", "holandi", "af holandi", "هولندي", "هولندية"),
        "العربيه": ("arabic", "arabisch", "arabi", "carabi", "af carabi", "عربي", "عربيه"),
        "soomaali": ("somali", "somalisch", "af soomaali", "afsoomaali", "صومالي", "الصوماليه"),
        "english": ("engels", "ingiriis", "af ingiriis", "انجليزي", "انكليزي", "الانجليزيه"),
    }.items()
    for alias in aliases
}
"""Other names of the menu's languages (folded, see ``fold``) → the folded menu label."""

PREFIX_MIN = 3  # letters a leading-words answer needs, so "de" never picks "De Aker"

_ARABIC_LETTERS = str.maketrans({"ة": "ه", "ى": "ي", "ٱ": "ا", "ـ": None})
_KEYCAP_TEN = "\U0001f51f"  # 🔟


def fold(text: str) -> str:
    """``text`` reduced to what a reader would call the same answer: lower case, no accents
    or Arabic vowel marks, one Arabic letter per family, no punctuation, symbols or emoji,
    single spaces. Decimal digits of any script stay digits; superscripts and circled numbers
    stay what they are (not a typed number)."""
    kept = []
    for original in text.replace(_KEYCAP_TEN, "10"):
        if unicodedata.category(original) == "No":  # ², ①, ½: kept as they are, never a number
            kept.append(original)
            continue
        for char in unicodedata.normalize("NFKD", original):  # é → e + ◌́, أ → ا + ◌ٔ, ２ → 2
            category = unicodedata.category(char)
            if category[0] == "M" or category == "Cf":  # accents, harakat, hamza, VS16, keycaps, RLM
                continue
            kept.append(" " if category[0] in "PSZC" else char)
    return " ".join("".join(kept).translate(_ARABIC_LETTERS).casefold().split())


def _number(word: str) -> int | None:
    return int(word) if word.isdecimal() and len(word) <= 3 else None


def match_option(text: str, options: tuple[Option, ...]) -> str | None:
    """The key of the option ``text`` plainly means, or ``None``."""
    typed = fold(text)
    if not typed or not options:
        return None
    labels = [fold(option.label) for option in options]

    head, _, rest = typed.partition(" ")
    number = _number(head)
    if number is not None:
        if 1 <= number <= len(options) and (not rest or rest == labels[number - 1]):
            return options[number - 1].key
        return None

    typed = LANGUAGE_ALIASES.get(typed, typed)
    exact = [n for n, label in enumerate(labels) if label and label == typed]
    if len(exact) == 1:
        return options[exact[0]].key

    for words in (YES_WORDS, NO_WORDS):
        if typed in words:
            starts = [n for n, label in enumerate(labels) if label.split(" ", 1)[0] in words]
            return options[starts[0]].key if len(starts) == 1 else None

    if len(typed.replace(" ", "")) >= PREFIX_MIN:
        starts = [n for n, label in enumerate(labels) if label.startswith(typed + " ")]
        if len(starts) == 1:
            return options[starts[0]].key
    return None
