"""A facilitator's form as lines to read (``meedoen series reports`` and the console's
series page), in the current locale. Pure: no I/O."""

from __future__ import annotations

from dialogs.i18n import N_, gettext
from dialogs.meeting_report import THEME_LABELS

LABELS = {
    "men": N_("Men there"),
    "themes": N_("Themes"),
    "exercises": N_("Statements or exercises"),
    "atmosphere": N_("Atmosphere (1–5)"),
    "outcomes": N_("Main outcomes"),
    "follow_up": N_("Follow-up needed"),
}


def report_lines(form) -> list[tuple[str, str]]:
    """``[(label, value), ...]`` of one ``meeting_reports`` row; "—" for a skipped answer."""
    themes = [gettext(THEME_LABELS[key]) for key in form.themes.split(",") if key in THEME_LABELS]
    if form.follow_up:
        follow_up = gettext("Yes") + (f": {form.follow_up_text}" if form.follow_up_text else "")
    else:
        follow_up = gettext("No")
    values = {
        "men": "—" if form.men_present is None else str(form.men_present),
        "themes": ", ".join(themes) or "—",
        "exercises": form.exercises or "—",
        "atmosphere": "—" if form.atmosphere is None else str(form.atmosphere),
        "outcomes": form.outcomes or "—",
        "follow_up": follow_up,
    }
    return [(gettext(LABELS[key]), value) for key, value in values.items()]
