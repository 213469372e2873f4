"""A series may have no location (``meedoen series add`` without ``--location``, or the
console's new-series form with the field left empty). Every message that names the place
then says a whole sentence without it, never "... at ." (``dialogs.i18n.fill_place``).

One table: each message that names the place, with its two msgids and how to make it show,
checked in every language with and without a location. Expected texts come from the real
catalogs; dates straight from Babel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from dialogs import notices, router
from dialogs.i18n import LRI, PDI, RLM
from dialogs.types import LANGUAGES, STANDING, AnswerOffer, ChoiceMade, Command, OfferView, SignupView, Text
from tests.dialog_helpers import NOW, ROOMY, TIMEZONE, Driver, registered, text_of, tr

PLACE = ROOMY.location
OLD = datetime(2026, 12, 3, 18, 0, tzinfo=ZoneInfo("UTC"))
NEW = datetime(2026, 12, 4, 18, 30, tzinfo=ZoneInfo("UTC"))


def babel_when(instant: datetime, language: str) -> str:
    return format_datetime(instant, "EEEE d MMMM HH:mm", tzinfo=ZoneInfo(TIMEZONE), locale=language)


# --- How each message is made to show, for a series at ``place`` -----------------------------


def _sign_up(language: str, place: str) -> str:
    d = Driver(suggested_language=language)
    d.world.series[ROOMY.id] = replace(ROOMY, location=place)
    d.send(Command("start"))
    d.press(f"lang:{language}")
    d.press("yes")
    d.send(Text("Cabdi"))
    d.press(f"s:{ROOMY.id}")
    d.press("a:1")
    return d.last.text


def _my_signups(language: str, place: str) -> str:
    d = Driver(participant=registered(language, signups=[SignupView(ROOMY.id, "confirmed")]))
    d.world.series[ROOMY.id] = replace(ROOMY, location=place)
    return text_of(d.send(Command("mysignups")))


def _seat_taken(language: str, place: str) -> str:
    offer = OfferView(5, ROOMY.id, ROOMY.name, NOW + timedelta(days=1))
    participant = replace(
        registered(language, signups=[SignupView(ROOMY.id, "waitlist", 1)]), offers=(offer,)
    )
    d = Driver(participant=participant)
    d.world.series[ROOMY.id] = replace(ROOMY, location=place)
    # A standing button: the router takes it past the question flow (the driver's ``handle``).
    step = router.handle({}, ChoiceMade("wo:5:y", STANDING), d.ctx)
    assert AnswerOffer(5, accept=True) in step.effects
    return text_of(step)


def _reminder(language: str, place: str) -> str:
    return notices.reminder(language, 7, ROOMY.name, OLD, place, TIMEZONE).text


def _moved(language: str, place: str) -> str:
    return notices.meeting_moved(language, ROOMY.name, OLD, NEW, place, TIMEZONE).text


@dataclass(frozen=True)
class Case:
    name: str
    show: Callable[[str, str], str]  # (language, place) -> the text he reads
    at_place: str
    no_place: str
    values: Callable[[str], dict[str, object]]  # language -> the other inserted values


def _series_when(language: str) -> dict[str, object]:
    return {"series": ROOMY.name, "when": babel_when(OLD, language)}


CASES = [
    Case(
        "sign-up confirmation",
        _sign_up,
        "You are signed up for %(series)s! The next meeting is on %(when)s at "
        "%(place)s. I will send you a reminder before each meeting. See you there!",
        "You are signed up for %(series)s! The next meeting is on %(when)s. I will "
        "send you a reminder before each meeting. See you there!",
        _series_when,
    ),
    Case(
        "/mysignups",
        _my_signups,
        "%(series)s: next meeting %(when)s at %(place)s",
        "%(series)s: next meeting %(when)s",
        _series_when,
    ),
    Case(
        "waiting-list seat taken",
        _seat_taken,
        "The next meeting is on %(when)s at %(place)s.",
        "The next meeting is on %(when)s.",
        lambda language: {"when": babel_when(OLD, language)},
    ),
    Case(
        "reminder",
        _reminder,
        "Reminder: %(series)s is on %(when)s at %(place)s. Will you come?",
        "Reminder: %(series)s is on %(when)s. Will you come?",
        _series_when,
    ),
    Case(
        "meeting moved",
        _moved,
        "The meeting of %(series)s on %(old)s has moved to %(new)s, at %(place)s.",
        "The meeting of %(series)s on %(old)s has moved to %(new)s.",
        lambda language: {
            "series": ROOMY.name,
            "old": babel_when(OLD, language),
            "new": babel_when(NEW, language),
        },
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_with_a_location_the_place_is_named(case, language):
    text = case.show(language, PLACE)
    assert tr(language, case.at_place, place=PLACE, **case.values(language)) in text
    assert PLACE in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("place", ["", "   "], ids=["empty", "blank"])
def test_without_a_location_the_sentence_has_no_place(case, language, place):
    text = case.show(language, place)
    values = case.values(language)
    assert tr(language, case.no_place, **values) in text
    assert tr(language, case.at_place, place=place, **values) not in text  # "... at ."
    assert f"{LRI}{place}{PDI}" not in text  # no isolated empty place
    if language == "ar":
        assert all(line.startswith(RLM) for line in text.split("\n") if line)


def test_the_place_free_sentences_are_translated():
    """Not the English fallback: each language has its own words for them."""
    for case in CASES:
        texts = {language: tr(language, case.no_place) for language in LANGUAGES}
        assert len(set(texts.values())) == len(LANGUAGES), case.name
