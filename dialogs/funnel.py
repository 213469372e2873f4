"""Where men give up: the steps of the sign-up and of the check-in that are counted.

Counts only (issue 19). A dialog emits ``CountStep`` when a conversation moves into a step
*for the first time within that conversation*; the engine adds one to the counter of (the
conversation's week, flow, step, language) and stores nothing else. What makes "the first
time" is a small marker in his current conversation state, which already exists and goes
with it:

- the **sign-up** marker (``state["funnel"]``: the week and the steps reached so far) is
  made when a man who has not signed up starts (his first message, or ``/start``), and
  dropped when he finishes, refuses the privacy terms (the conversation is forgotten) or uses
  ``/delete``. A man who starts again after that is a new conversation and counted again; a
  second ``/start`` within the same week is not (one in a later week starts anew). A man who has signed up before and
  joins another series is not in this funnel (he started long ago).
- the **check-in** marker (the week and the last question reached) lives with the answers in
  progress under the check-in's own state, and is wiped with them.

Every step of one conversation is counted in the ISO week in which it *started*, so a week's
row reads as a funnel of the men who started that week (a man who finishes next week still
counts in his starting week). "started" is counted under the language he was greeted in (the
assistant's guess), every later step under the language he chose: the privacy text, the
series list and the confirmation are read in that one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialogs.types import CountStep

SIGNUP = "signup"
SIGNUP_STEPS = ("started", "language", "consent", "series", "finished")
"""In order: first message or /start; chose a language; agreed to the privacy terms; chose a
series (a seat or the waiting list); got the confirmation."""

CHECKIN = "checkin"
CHECKIN_QUESTIONS = 8
CHECKIN_STEPS = (*(f"q{n}" for n in range(1, CHECKIN_QUESTIONS + 1)), "finished")
"""``q1`` is a started check-in (its first question shown); ``qN`` the N-th question shown;
``finished`` the thanks at the end (whether or not anything was answered)."""

MARKER = "funnel"


def iso_week(moment: datetime) -> str:
    """The ISO week of a UTC instant, as the check-in store writes it (``2026-W48``)."""
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def begin(now: datetime) -> dict[str, Any]:
    """A new marker: nothing reached yet, in the week of ``now``."""
    return {"week": iso_week(now), "done": []}


def ongoing(marker: Any, now: datetime) -> dict[str, Any]:
    """The marker of a sign-up (re)started at ``now``: the same conversation within its week,
    else a new one (a man who comes back in a later week starts again, and is counted again)."""
    if isinstance(marker, dict) and marker.get("week") == iso_week(now):
        return marker
    return begin(now)


def reach(marker: Any, flow: str, step: str, language: str) -> tuple[dict[str, Any] | None, tuple[CountStep, ...]]:
    """The marker after reaching ``step``, and the count to make: none when there is no
    marker (not a conversation this funnel follows) or the step was reached before in it."""
    if not isinstance(marker, dict) or not isinstance(marker.get("week"), str):
        return None, ()
    done = list(marker.get("done", []))
    if step in done:
        return marker, ()
    return {**marker, "done": [*done, step]}, (CountStep(flow, step, marker["week"], language),)
