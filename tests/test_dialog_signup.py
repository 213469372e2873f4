"""The sign-up conversation (``dialogs.conversation``), driven event by event, in every language.

Pure tests: the dialog is a function ``(state, event, context) -> Step``; ``tests.dialog_helpers``
threads the state and applies the storing effects to a fake world, the way the engine does, and
checks on every step that the person never meets silence (see its docstring).

Expected texts always come from the real catalogs (``tr`` = gettext under ``use_locale``), so the
tests follow the translators; dates are checked against Babel directly.

The tests at the end reproduce dialog bugs found while writing this suite; they guard the fixes.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime, get_day_names

from dialogs.conversation import NAME_MAX, handle
from dialogs.i18n import FSI, LRI, PDI, RLM, Phrase, directed, use_locale
from dialogs.types import (
    LANGUAGES,
    BadButton,
    ChoiceMade,
    Command,
    EraseParticipant,
    ForgetConversation,
    LeaveSeries,
    ParticipantView,
    Reply,
    SaveParticipant,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    SignUp,
    SignupView,
    Text,
    Timer,
    Unsupported,
)
from tests.dialog_helpers import (
    AREAS,
    CHAT_ADDRESS,
    CLOSED,
    FULL,
    NOW,
    ORGANISATION,
    ROOMY,
    TIMEZONE,
    Driver,
    ntr,
    registered,
    replies,
    stored,
    text_of,
    tr,
)

# --- The messages, as msgids (translated at assertion time) --------------------------------

GREETING = (
    "Hello! I'm the automated assistant of %(organisation)s. I can sign you up "
    "for our conversation groups for men."
)
LANGUAGE_Q = "Which language would you like me to use?"
CONSENT_Q = (
    "Before we start: to sign you up, I keep your phone number or Telegram name and your "
    "language, and if you want, a first name and your area. Only the "
    "coordinators of %(organisation)s see this. It is never shared with anyone "
    "else. You can erase it all at any time with /delete. Is that okay?"
)
YES, NO = "Yes, that's okay", "No, thank you"
REFUSED = (
    "That's fine. I have not kept anything about you. If you change "
    "your mind, just send /start."
)
THANKS = "Thank you!"
NAME_Q = "What may we call you? Write a first name or a nickname, or press Skip."
NAME_AGAIN = "I couldn't use that as a name. Please write a short first name, or press Skip."
NICE = "Nice to meet you, %(name)s!"
SERIES_Q = "These conversation groups are open. Which one would you like to join?"
SERIES_LINE = "%(series)s: every %(weekday)s at %(time)s, %(place)s (%(seats)s)"
SERIES_LINE_NO_PLACE = "%(series)s: every %(weekday)s at %(time)s (%(seats)s)"
SEATS = ("%(count)s seat left", "%(count)s seats left")
FULL_SEATS = "full, waiting list open"
WAITLIST_Q = (
    "%(series)s is full. Would you like a place on the waiting list? "
    "If a seat opens up, I will let you know."
)
AREA_Q = "In which area do you live? This helps us plan meetings close to home."
NOT_SAY = "I'd rather not say"
SIGNED_UP = (
    "You are signed up for %(series)s! The next meeting is on %(when)s at "
    "%(place)s. I will send you a reminder before each meeting. See you there!"
)
WAITLISTED = (
    "You are on the waiting list for %(series)s (number %(position)s). I will let "
    "you know as soon as a seat opens up."
)
MENU_Q = "What would you like to do?"
LEAVE_Q = "Which conversation group would you like to leave?"
LEFT = "You have left %(series)s. You are welcome back any time."
NOTHING_CHANGED = "Okay, nothing has changed."
ERASE_Q = (
    "Shall I erase all your data: your sign-ups, your name, your language and your "
    "area? This cannot be undone."
)
ERASED = (
    "Everything is erased. Thank you for taking part. You are "
    "always welcome back: just send /start."
)
NOT_ERASED = "Okay, nothing was erased."
HELP_INTRO = "I am the automated assistant of %(organisation)s, not a person. You can use:"
HELP_LINES = (
    "/start – join a conversation group",
    "/mysignups – my conversation groups and the next meeting",
    "/cancel – leave a conversation group",
    "/language – choose another language",
    "/stop – pause all messages",
    "/delete – erase my data",
    "/privacy – what happens with my data",
    "/whoami – how this chat knows me (for coordinators)",
)
PRIVACY = (
    "I keep only what is needed to sign you up: your phone number or Telegram name, your language and, "
    "if you gave them, a first name and your area, plus your sign-ups. Only the "
    "coordinators of %(organisation)s see this; it is never shared. /stop pauses all "
    "messages. /delete erases everything about you for good."
)
WHOAMI = (
    "This is how this chat knows you:\n%(address)s\nAre you a coordinator? Give this line to your "
    "organisation, and they can add you."
)
MY_SERIES = "Your conversation groups:"
MY_NEXT = "%(series)s: next meeting %(when)s at %(place)s"
MY_WAITING = "%(series)s: waiting list, number %(position)s"
NO_SIGNUPS = "You are not signed up for any conversation group yet. Send /start to choose one."
NOT_YET = "You haven't signed up yet. Send /start to begin."
STOPPED = (
    "Okay, I won't send you any more messages. Send /start whenever you want to "
    "hear from me again."
)
PAUSED = "Your messages are paused. Send /start to turn them back on."
WELCOME_BACK_STOPPED = "Welcome back! You will get messages from me again."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."

STALE = "That button belongs to an earlier question. Here is the current one."
BAD_BUTTON = "Sorry, I could not read that button."
UNREADABLE = "Sorry, I can only read text and buttons."
USE_BUTTONS = "Please choose one of the buttons."
GONE = "Sorry, that choice is no longer available."

OWN_NAMES = ("Nederlands", "العربية", "Soomaali", "English")


def when(series, language: str) -> str:
    """The next meeting as the brief specifies it, straight from Babel."""
    return format_datetime(
        series.next_meeting, "EEEE d MMMM HH:mm", tzinfo=ZoneInfo(TIMEZONE), locale=language
    )


def only_reply(step) -> Reply:
    sent = replies(step)
    assert len(sent) == 1, sent
    return sent[0]


def labels(reply: Reply) -> tuple[str, ...]:
    return tuple(option.label for option in reply.options)


def keys(reply: Reply) -> tuple[str, ...]:
    return tuple(option.key for option in reply.options)


def other_language(language: str) -> str:
    return LANGUAGES[(LANGUAGES.index(language) + 1) % len(LANGUAGES)]


# --- Drivers positioned at a given question -------------------------------------------------


def at_language(language: str) -> Driver:
    d = Driver(suggested_language=language)
    d.send(Command("start"))
    return d


def at_consent(language: str) -> Driver:
    d = at_language(language)
    d.press(f"lang:{language}")
    return d


def at_name(language: str) -> Driver:
    d = at_consent(language)
    d.press("yes")
    return d


def at_series(language: str) -> Driver:
    d = at_name(language)
    d.send(Text("Cabdi"))
    return d


def at_waitlist(language: str) -> Driver:
    d = at_series(language)
    d.press(f"s:{FULL.id}")
    return d


def at_area(language: str) -> Driver:
    d = at_series(language)
    d.press(f"s:{ROOMY.id}")
    return d


def at_menu(language: str) -> Driver:
    d = at_area(language)
    d.press("a:0")
    return d


def at_leave(language: str) -> Driver:
    d = Driver(participant=registered(language, signups=[SignupView(ROOMY.id, "confirmed")]))
    d.send(Command("cancel"))
    return d


def at_erase(language: str) -> Driver:
    d = Driver(participant=registered(language))
    d.send(Command("delete"))
    return d


POSITIONS = {
    # name: (how to get there, a msgid the question's text contains, its values)
    "language": (at_language, LANGUAGE_Q, {}),
    "consent": (at_consent, CONSENT_Q, {"organisation": ORGANISATION}),
    "name": (at_name, NAME_Q, {}),
    "series": (at_series, SERIES_Q, {}),
    "waitlist": (at_waitlist, WAITLIST_Q, {"series": FULL.name}),
    "area": (at_area, AREA_Q, {}),
    "menu": (at_menu, MENU_Q, {}),
    "leave": (at_leave, LEAVE_Q, {}),
    "erase": (at_erase, ERASE_Q, {}),
}


# --- 1. The happy path ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_full_signup_in_every_language(language):
    d = Driver()

    # /start: a greeting (in Dutch, nothing is known yet) that says it is automated.
    hello = only_reply(d.send(Command("start")))
    assert tr("nl", GREETING, organisation=ORGANISATION) in hello.text
    assert ORGANISATION in hello.text
    assert tr("nl", LANGUAGE_Q) in hello.text
    assert labels(hello) == OWN_NAMES
    assert keys(hello) == ("lang:nl", "lang:ar", "lang:so", "lang:en")

    # The language: consent is asked in that language, nothing is stored yet.
    step = d.press(f"lang:{language}")
    consent = only_reply(step)
    assert stored(step) == []
    assert tr(language, CONSENT_Q, organisation=ORGANISATION) in consent.text
    assert labels(consent) == (tr(language, YES), tr(language, NO))
    assert d.world.participant is None

    # Yes: only now is he stored, with his language and the time of consent.
    step = d.press("yes")
    assert stored(step) == [SaveParticipant(language, NOW)]
    assert tr(language, THANKS) in d.last.text
    assert tr(language, NAME_Q) in d.last.text

    # A name, then the open series (not the closed one), in his language.
    step = d.send(Text("Cabdi"))
    assert stored(step) == [SetName("Cabdi")]
    text = d.last.text
    assert tr(language, NICE, name="Cabdi") in text
    assert tr(language, SERIES_Q) in text
    thursday = get_day_names("wide", locale=language)[ROOMY.weekday]
    for expected in (ROOMY.name, thursday, "19:00", ROOMY.location, FULL.name, "14:00"):
        assert expected in text, expected
    seats = Phrase(ntr(language, *SEATS, ROOMY.seats_left, count=ROOMY.seats_left))
    line = tr(
        language,
        SERIES_LINE,
        series=ROOMY.name,
        weekday=thursday,
        time="19:00",
        place=ROOMY.location,
        seats=seats,
    )
    assert line in text
    assert tr(language, FULL_SEATS) in text
    assert CLOSED.name not in text
    assert keys(d.last) == (f"s:{ROOMY.id}", f"s:{FULL.id}")

    # A seat in the roomy series, then the area.
    step = d.press(f"s:{ROOMY.id}")
    assert stored(step) == [SignUp(ROOMY.id, waitlist=False)]
    assert tr(language, AREA_Q) in d.last.text
    assert labels(d.last) == (*AREAS, tr(language, NOT_SAY))

    # The confirmation: weekday, date and time by Babel in his language, and the place.
    step = d.press("a:1")
    assert stored(step) == [SetArea("Osdorp")]
    confirmation = d.last.text
    assert when(ROOMY, language) in confirmation
    assert ROOMY.location in confirmation
    assert (
        tr(language, SIGNED_UP, series=ROOMY.name, when=when(ROOMY, language), place=ROOMY.location)
        in confirmation
    )
    assert tr(language, MENU_Q) in confirmation

    assert d.world.participant == ParticipantView(
        language, "Cabdi", "Osdorp", "active", (SignupView(ROOMY.id, "confirmed"),)
    )


@pytest.mark.parametrize(
    "language, expected",
    [
        ("nl", "donderdag 3 december 19:00"),
        ("ar", "الخميس 3 ديسمبر 19:00"),
        ("so", "Khamiis 3 Diseembar 19:00"),
        ("en", "Thursday 3 December 19:00"),
    ],
)
def test_the_meeting_time_is_local_time_in_the_readers_language(language, expected):
    """18:00 UTC on 3 December is 19:00 in Amsterdam (CET)."""
    d = at_menu(language)
    assert expected in d.last.text
    assert when(ROOMY, language) == expected


# --- 2. Arabic: right-to-left hygiene -----------------------------------------------------------


def _signup_texts(language: str) -> list[str]:
    d = Driver(suggested_language=language)
    d.send(Command("start"))
    d.press(f"lang:{language}")
    d.press("yes")
    d.send(Text("Cabdi"))
    d.press(f"s:{ROOMY.id}")
    d.press("a:0")
    for command in ("help", "privacy", "mysignups", "foo", "cancel"):
        d.send(Command(command))
    return [reply.text for _, step in d.steps for reply in replies(step)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_series_without_a_location_has_no_dangling_comma(language):
    d = at_name(language)
    d.world.series[ROOMY.id] = replace(ROOMY, location="")
    d.send(Text("Cabdi"))
    thursday = get_day_names("wide", locale=language)[ROOMY.weekday]
    seats = Phrase(ntr(language, *SEATS, ROOMY.seats_left, count=ROOMY.seats_left))
    line = tr(language, SERIES_LINE_NO_PLACE, series=ROOMY.name, weekday=thursday, time="19:00", seats=seats)
    assert line in d.last.text
    assert ", (" not in d.last.text and "، (" not in d.last.text


def test_every_arabic_reply_starts_with_a_right_to_left_mark_and_isolates_values():
    texts = _signup_texts("ar")
    assert len(texts) >= 10
    for text in texts:
        assert text.startswith(RLM), text
    joined = "\n".join(texts)
    for value in ("Cabdi", ROOMY.name, ROOMY.location, ORGANISATION):
        assert f"{LRI}{value}{PDI}" in joined, value  # Latin values run left to right
    assert f"{LRI}{ROOMY.seats_left}{PDI}" in joined  # numbers too
    assert f"{LRI}Cabdi{PDI}" in texts[3]  # "Nice to meet you, Cabdi!"
    assert f"{LRI}/start{PDI}" in joined  # and the commands in the translated text
    help_text = tr("ar", HELP_INTRO, organisation=ORGANISATION)
    for text in texts:
        if help_text not in text:  # /help: see test_every_line_of_an_arabic_reply_...
            for line in text.split("\n"):
                assert _first_strong_direction(line) in ("rtl", None), repr(line)


@pytest.mark.parametrize("language", ["nl", "so", "en"])
def test_left_to_right_replies_have_no_bidi_marks(language):
    for text in _signup_texts(language):
        assert not {RLM, FSI, LRI, PDI} & set(text), text


# --- 3. The suggested language pre-selects, never decides -----------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("first", [Command("start"), Text("salaam")], ids=["start", "text"])
def test_suggested_language_is_offered_first_but_he_still_chooses(language, first):
    d = Driver(suggested_language=language)
    step = d.send(first)
    assert stored(step) == []
    menu = only_reply(step)
    assert keys(menu)[0] == f"lang:{language}"
    assert sorted(keys(menu)) == sorted(f"lang:{code}" for code in LANGUAGES)
    assert tr(language, GREETING, organisation=ORGANISATION) in menu.text
    assert tr(language, LANGUAGE_Q) in menu.text

    chosen = other_language(language)
    step = d.press(f"lang:{chosen}")
    assert stored(step) == []
    assert tr(chosen, CONSENT_Q, organisation=ORGANISATION) in d.last.text
    assert d.last.text.startswith(RLM) == (chosen == "ar")
    assert stored(d.press("yes")) == [SaveParticipant(chosen, NOW)]
    assert tr(chosen, NAME_Q) in d.last.text


@pytest.mark.parametrize("suggested", [None, "de", "pt-br", ""])
def test_an_unknown_suggestion_falls_back_to_dutch(suggested):
    d = Driver(suggested_language=suggested)
    menu = only_reply(d.send(Command("start")))
    assert labels(menu) == OWN_NAMES
    assert tr("nl", GREETING, organisation=ORGANISATION) in menu.text


# --- 4. Consent refused ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("answer", ["button", "typed number"])
def test_consent_refused_keeps_nothing_and_says_how_to_come_back(language, answer):
    d = at_consent(language)
    step = d.press("no") if answer == "button" else d.send(Text("2"))
    assert not any(isinstance(effect, SaveParticipant) for effect in step.effects)
    assert ForgetConversation() in step.effects
    assert step.state == {}
    assert tr(language, REFUSED) in text_of(step)
    assert "/start" in text_of(step)
    assert d.world.participant is None
    # He may come back.
    menu = only_reply(d.send(Command("start")))
    assert keys(menu)[0] == f"lang:{language}"


# --- 5. The name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_skipping_the_name_stores_no_name(language):
    d = at_name(language)
    step = d.press("skip")
    assert stored(step) == []
    assert tr(language, SERIES_Q) in d.last.text
    assert d.world.participant.name is None


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed", ["1", "label"])
def test_skip_can_be_typed_like_any_other_button(language, typed):
    """On WhatsApp the Skip button may be a numbered list ("1. Skip"): typing "1" or the
    label must skip, as it selects an option at every other question."""
    d = at_name(language)
    step = d.send(Text(tr(language, "Skip") if typed == "label" else "1"))
    assert stored(step) == []
    assert tr(language, SERIES_Q) in d.last.text


NAMES = [
    # (typed, the name stored; None = asked again)
    ("Cabdi", "Cabdi"),
    ("  Cabdi   Xasan ", "Cabdi Xasan"),
    ("عبدي", "عبدي"),
    ("Zoë", "Zoë"),
    ("Jan-Willem", "Jan-Willem"),
    ("\u200fCabdi\u200f", "Cabdi"),  # RTL marks around letters
    ("\u202eCabdi\u202c\u2066", "Cabdi"),  # overrides and isolates
    ("\u200b\ufeffCabdi\u200d", "Cabdi"),  # zero-width characters
    ("\tCabdi\r\n", "Cabdi"),  # control whitespace
    ("😀🎉", None),
    ("🙂" * 3 + "   ", None),
    ("12345", None),
    ("", None),
    ("   ", None),
    ("\x00\x07\x1b", None),
    ("\u200f\u200e\u2068\u2069", None),
    ("a" * 10_000, None),
    ("x" * NAME_MAX, "x" * NAME_MAX),
    ("x" * (NAME_MAX + 1), None),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed, name", NAMES, ids=[f"{t[:10]!r}({len(t)})" for t, _ in NAMES])
def test_name_is_cleaned_or_asked_again_kindly(language, typed, name):
    d = at_name(language)
    step = d.send(Text(typed))
    if name is None:
        assert stored(step) == []
        assert tr(language, NAME_AGAIN) in d.last.text
        assert tr(language, NAME_Q) in d.last.text
        assert keys(d.last) == ("skip",)
        # He is still at the name: the next text is taken as a name.
        assert stored(d.send(Text("Cabdi"))) == [SetName("Cabdi")]
    else:
        assert stored(step) == [SetName(name)]
        assert tr(language, SERIES_Q) in d.last.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed", ["Cab\x00di", "\x07Cabdi\x1b", "Cabdi\x85"])
def test_control_characters_never_reach_the_stored_name(language, typed):
    """Either cleaned away or asked again; never stored as they are."""
    d = at_name(language)
    step = d.send(Text(typed))
    names = [effect.name for effect in stored(step) if isinstance(effect, SetName)]
    if names:
        assert names == ["Cabdi"]
    else:
        assert tr(language, NAME_AGAIN) in d.last.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_sql_looking_text_is_just_text(language):
    """Stored exactly as typed (it is only text to the store), or kindly asked again; never
    mangled, never a crash. (The brief says it may be rejected "only for length"; a stricter
    character rule in ``clean_name`` rejects it too: see the report.)"""
    typed = "Robert'); DROP TABLE participants;--"
    assert len(typed) <= NAME_MAX
    d = at_name(language)
    step = d.send(Text(typed))
    if stored(step):
        assert stored(step) == [SetName(typed)]
        assert tr(language, NICE, name=typed) in d.last.text
    else:
        assert tr(language, NAME_AGAIN) in d.last.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_name_that_looks_like_a_placeholder_is_inserted_literally(language):
    d = at_name(language)
    step = d.send(Text("Ali %s"))
    if stored(step):
        assert "Ali %s" in d.last.text


# --- 6. The waiting list --------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_full_series_offers_the_waiting_list(language):
    d = at_series(language)
    step = d.press(f"s:{FULL.id}")
    assert stored(step) == []
    assert tr(language, WAITLIST_Q, series=FULL.name) in d.last.text
    assert keys(d.last) == ("wait", "other")

    step = d.press("wait")
    assert stored(step) == [SignUp(FULL.id, waitlist=True)]
    assert tr(language, AREA_Q) in d.last.text

    step = d.press("a:-")
    assert stored(step) == [SetArea(None)]
    assert tr(language, WAITLISTED, series=FULL.name, position=1) in d.last.text
    assert d.world.participant.signups == (SignupView(FULL.id, "waitlist", waitlist_position=1),)

    mine = text_of(d.send(Command("mysignups")))
    assert tr(language, MY_WAITING, series=FULL.name, position=1) in mine


@pytest.mark.parametrize("language", LANGUAGES)
def test_waiting_list_when_the_area_is_known_confirms_at_once(language):
    d = Driver(participant=registered(language, area="Osdorp"))
    d.send(Command("start"))  # no sign-ups yet: straight to the series
    assert tr(language, SERIES_Q) in d.last.text
    d.press(f"s:{FULL.id}")
    step = d.press("wait")
    assert stored(step) == [SignUp(FULL.id, waitlist=True)]
    assert tr(language, WAITLISTED, series=FULL.name, position=1) in d.last.text
    assert tr(language, AREA_Q) not in d.last.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_choose_another_series_goes_back_to_the_list(language):
    d = at_waitlist(language)
    step = d.press("other")
    assert stored(step) == []
    assert tr(language, SERIES_Q) in d.last.text
    assert keys(d.last) == (f"s:{ROOMY.id}", f"s:{FULL.id}")
    assert stored(d.press(f"s:{ROOMY.id}")) == [SignUp(ROOMY.id, waitlist=False)]


def test_series_that_filled_up_meanwhile_offers_the_waiting_list():
    d = at_series("so")
    d.world.series[ROOMY.id] = replace(ROOMY, confirmed=ROOMY.capacity)
    step = d.press(f"s:{ROOMY.id}")
    assert stored(step) == []
    assert keys(d.last) == ("wait", "other")


def test_series_that_closed_meanwhile_is_not_signed_up_for():
    d = at_series("ar")
    d.world.series[ROOMY.id] = replace(ROOMY, open=False)
    step = d.press(f"s:{ROOMY.id}")
    assert stored(step) == []
    assert tr("ar", GONE) in d.last.text
    assert keys(d.last) == (f"s:{FULL.id}",)


def test_already_signed_up_is_told_so():
    d = Driver(participant=registered("nl", signups=[SignupView(ROOMY.id, "confirmed")]))
    d.send(Command("start"))
    d.press("menu:join")
    step = d.press(f"s:{ROOMY.id}")
    assert stored(step) == []
    assert tr("nl", "You are already signed up for %(series)s.", series=ROOMY.name) in d.last.text


# --- 7. Anything but the expected answer: a kind note and the question again ----------------------


def _junk_events(d: Driver):
    current = d.keys[0]
    return {
        "stale button": (ChoiceMade(current, d.question - 1), STALE),
        "future button": (ChoiceMade(current, d.question + 7), STALE),
        "unknown key": (ChoiceMade("s:999", d.question), GONE),
        "closed series": (ChoiceMade(f"s:{CLOSED.id}", d.question), GONE),
        "empty key": (ChoiceMade("", d.question), GONE),
        "bad button": (BadButton(), BAD_BUTTON),
        "sticker": (Unsupported("sticker"), UNREADABLE),
        "video": (Unsupported("video"), UNREADABLE),
        "free text": (Text("hallo, wat is dit?"), USE_BUTTONS),
        "out of range number": (Text("99"), USE_BUTTONS),
        "zero": (Text("0"), USE_BUTTONS),
    }


JUNK = [
    "stale button", "future button", "unknown key", "closed series", "empty key",
    "bad button", "sticker", "video", "free text", "out of range number", "zero",
]


TYPED_JUNK = {"free text", "out of range number", "zero"}  # at the name question: a name


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "position, junk",
    [(p, j) for p in POSITIONS for j in JUNK if not (p == "name" and j in TYPED_JUNK)],
)
def test_unexpected_input_gets_a_kind_note_and_the_question_again(language, position, junk):
    setup, question, values = POSITIONS[position]
    d = setup(language)
    asked, at = d.asked, d.state["at"]
    event, note = _junk_events(d)[junk]

    step = d.send(event)

    assert stored(step) == [], "only a reply"
    reply = only_reply(step)
    assert tr(language, note) in reply.text
    assert tr(language, question, **values) in reply.text
    assert reply.options == asked.options
    assert reply.question > asked.question  # the old buttons are stale now
    assert d.state["at"] == at
    assert reply.text.startswith(RLM) == (language == "ar")


UNEXPECTED_COMMANDS = [
    # (position, command, the short answer before the question again)
    *[(position, "frobnicate", UNKNOWN_COMMAND) for position in POSITIONS],
    *[(position, "admin", UNKNOWN_COMMAND) for position in ("language", "consent", "series", "menu")],
    ("language", "mysignups", NOT_YET),
    ("consent", "mysignups", NOT_YET),
    ("consent", "cancel", NOT_YET),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("position, command, note", UNEXPECTED_COMMANDS)
def test_an_unknown_or_not_yet_usable_command_gets_a_short_answer_and_the_question_again(
    language, position, command, note
):
    setup, question, values = POSITIONS[position]
    d = setup(language)
    asked, at = d.asked, d.state["at"]

    step = d.send(Command(command))

    assert stored(step) == [], "only a reply"
    reply = only_reply(step)
    assert reply.text.removeprefix(RLM).startswith(tr(language, note))  # first, before the question
    assert tr(language, question, **values) in reply.text
    assert reply.options == asked.options
    assert d.state["at"] == at
    assert reply.text.startswith(RLM) == (language == "ar")


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_command_before_any_question_says_so_without_a_question(language):
    step = Driver(suggested_language=language).send(Command("frobnicate"))
    assert tr(language, UNKNOWN_COMMAND) in only_reply(step).text  # in the language he likely reads
    assert only_reply(step).options == ()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stale_consent_button_does_not_consent(language):
    d = at_consent(language)
    old = d.question
    d.send(BadButton())  # the consent question is asked again, with a new number
    step = d.send(ChoiceMade("yes", old))
    assert stored(step) == []
    assert tr(language, STALE) in d.last.text
    assert stored(d.press("yes")) == [SaveParticipant(language, NOW)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_replayed_series_button_does_not_sign_up_twice(language):
    d = at_series(language)
    series_question = d.question
    d.press(f"s:{ROOMY.id}")
    step = d.send(ChoiceMade(f"s:{ROOMY.id}", series_question))
    assert stored(step) == []
    assert tr(language, STALE) in d.last.text


def _typed(language: str):
    return [
        # (position, typed, the storing effects expected)
        ("consent", "1", [SaveParticipant(language, NOW)]),
        ("consent", tr(language, YES), [SaveParticipant(language, NOW)]),
        ("consent", "  " + tr(language, YES).upper() + "! ", [SaveParticipant(language, NOW)]),
        ("series", "1", [SignUp(ROOMY.id, waitlist=False)]),
        ("series", ROOMY.name.lower(), [SignUp(ROOMY.id, waitlist=False)]),
        ("series", "1.", [SignUp(ROOMY.id, waitlist=False)]),
        ("area", "Osdorp", [SetArea("Osdorp")]),
        ("area", "2)", [SetArea("Osdorp")]),
        ("area", "3", [SetArea(None)]),
        ("area", tr(language, NOT_SAY), [SetArea(None)]),
        ("erase", "1", [EraseParticipant()]),
        ("leave", "1", [LeaveSeries(ROOMY.id)]),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_typed_number_or_label_selects_that_option(language):
    for position, typed, expected in _typed(language):
        d = POSITIONS[position][0](language)
        step = d.send(Text(typed))
        assert stored(step) == expected, (position, typed)

    d = at_language(language)
    second = d.keys[1].removeprefix("lang:")
    step = d.send(Text("2"))
    assert stored(step) == []
    assert tr(second, CONSENT_Q, organisation=ORGANISATION) in d.last.text


@pytest.mark.parametrize(
    "typed, chosen",
    [("Soomaali", "so"), ("english", "en"), ("العربية", "ar"), ("٢", "ar"), ("4", "en")],
)
def test_typed_language_name_or_arabic_indic_digit(typed, chosen):
    d = at_language("nl")
    d.send(Text(typed))
    assert tr(chosen, CONSENT_Q, organisation=ORGANISATION) in d.last.text


# --- 8. Commands and keywords ---------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", ["stranger", "participant"])
def test_help_lists_the_commands_and_says_it_is_automated(language, who):
    d = Driver(participant=registered(language)) if who == "participant" else at_consent(language)
    step = d.send(Command("help"))
    assert stored(step) == []
    text = only_reply(step).text
    assert tr(language, HELP_INTRO, organisation=ORGANISATION) in text
    for line in HELP_LINES:
        assert tr(language, line) in text
        assert line.split()[0] in text  # the command itself is never translated


@pytest.mark.parametrize("language", LANGUAGES)
def test_privacy(language):
    d = Driver(participant=registered(language))
    step = d.send(Command("privacy"))
    assert stored(step) == []
    assert tr(language, PRIVACY, organisation=ORGANISATION) in only_reply(step).text


LANGUAGE_SET_SAYS = {
    "nl": "Oké, vanaf nu schrijf ik in het Nederlands.",
    "ar": "حسنًا، من الآن سأكتب لك باللغة العربية.",
    "so": "Hagaag, hadda wixii ka dambeeya waxaan kuu qori doonaa af Soomaali.",
    "en": "Okay, from now on I will write in English.",
}
"""The language is named in the sentence's own words ("in het Nederlands"), not inserted as
a foreign value."""


@pytest.mark.parametrize("old", LANGUAGES)
@pytest.mark.parametrize("new", LANGUAGES)
def test_language_command_switches_and_answers_in_the_new_language(old, new):
    d = Driver(participant=registered(old))
    step = d.send(Command("language"))
    assert stored(step) == []
    assert tr(old, LANGUAGE_Q) in d.last.text
    assert set(labels(d.last)) == set(OWN_NAMES)

    step = d.press(f"lang:{new}")
    assert stored(step) == [SetLanguage(new)]
    text = only_reply(step).text
    assert LANGUAGE_SET_SAYS[new] in text
    assert tr(new, MENU_Q) in text
    assert text.startswith(RLM) == (new == "ar")
    assert d.world.participant.language == new
    assert tr(new, HELP_INTRO, organisation=ORGANISATION) in text_of(d.send(Command("help")))


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_before_consent_leads_to_consent(language):
    d = at_consent("nl")
    d.send(Command("language"))
    step = d.press(f"lang:{language}")
    assert stored(step) == []
    assert tr(language, CONSENT_Q, organisation=ORGANISATION) in d.last.text
    assert stored(d.press("yes")) == [SaveParticipant(language, NOW)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_mysignups(language):
    none = Driver(participant=registered(language))
    assert tr(language, NO_SIGNUPS) in text_of(none.send(Command("mysignups")))

    both = Driver(
        participant=registered(
            language,
            signups=[SignupView(ROOMY.id, "confirmed"), SignupView(FULL.id, "waitlist", 3)],
        )
    )
    step = both.send(Command("mysignups"))
    assert stored(step) == []
    text = only_reply(step).text
    assert tr(language, MY_SERIES) in text
    assert (
        tr(language, MY_NEXT, series=ROOMY.name, when=when(ROOMY, language), place=ROOMY.location)
        in text
    )
    assert when(ROOMY, language) in text
    assert tr(language, MY_WAITING, series=FULL.name, position=3) in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancel_leaves_a_series(language):
    d = at_leave(language)
    assert keys(d.last) == (f"c:{ROOMY.id}", "keep")
    step = d.press(f"c:{ROOMY.id}")
    assert stored(step) == [LeaveSeries(ROOMY.id)]
    assert tr(language, LEFT, series=ROOMY.name) in d.last.text
    assert d.world.participant.signups == ()


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancel_never_mind(language):
    d = at_leave(language)
    step = d.press("keep")
    assert stored(step) == []
    assert tr(language, NOTHING_CHANGED) in d.last.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancel_without_signups(language):
    d = Driver(participant=registered(language))
    step = d.send(Command("cancel"))
    assert stored(step) == []
    assert tr(language, NO_SIGNUPS) in only_reply(step).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_stop_pauses_and_start_resumes(language):
    d = at_menu(language)
    step = d.send(Command("stop"))
    assert stored(step) == [SetStatus("stopped")]
    assert tr(language, STOPPED) in only_reply(step).text

    for event in (Command("mysignups"), Command("cancel"), ChoiceMade("menu:join", d.question)):
        step = d.send(event)
        assert stored(step) == [], event
        assert tr(language, PAUSED) in only_reply(step).text, event

    step = d.send(Command("start"))
    assert stored(step) == [SetStatus("active")]
    assert tr(language, WELCOME_BACK_STOPPED) in d.last.text
    assert d.world.participant.status == "active"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "event", [Text("hallo"), Text("1"), Unsupported("sticker"), BadButton()], ids=repr
)
def test_after_stop_anything_typed_gets_the_paused_note(language, event):
    d = at_menu(language)
    d.send(Command("stop"))
    step = d.send(event)
    assert stored(step) == []
    reply = only_reply(step)
    assert tr(language, PAUSED) in reply.text
    assert tr(language, MENU_Q) not in reply.text and reply.options == ()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("confirm", ["button", "typed"])
def test_delete_erases_after_confirmation(language, confirm):
    d = at_erase(language)
    assert tr(language, ERASE_Q) in d.last.text
    step = d.press("erase") if confirm == "button" else d.send(Text("1"))
    assert EraseParticipant() in step.effects
    assert tr(language, ERASED) in text_of(step)
    assert step.state == {}
    assert d.world.participant is None
    # Afterwards he is a stranger again.
    assert keys(only_reply(d.send(Command("start"))))[0] == "lang:nl"


@pytest.mark.parametrize("language", LANGUAGES)
def test_delete_keep_erases_nothing(language):
    d = at_erase(language)
    step = d.press("keep")
    assert stored(step) == []
    assert tr(language, NOT_ERASED) in d.last.text
    assert d.world.participant is not None


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stopped_participant_can_still_erase_his_data(language):
    d = Driver(participant=registered(language, status="stopped"))
    d.send(Command("delete"))
    assert tr(language, ERASE_Q) in d.last.text
    step = d.press("erase")
    assert EraseParticipant() in step.effects


def test_a_stopped_participant_can_finish_choosing_a_language():
    d = Driver(participant=registered("nl", status="stopped"))
    d.send(Command("language"))
    step = d.press("lang:so")
    assert SetLanguage("so") in step.effects


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("command", ["mysignups", "cancel", "stop", "delete"])
def test_commands_before_consent(language, command):
    d = at_consent(language)
    step = d.send(Command(command))
    assert stored(step) == []
    assert tr(language, NOT_YET) in only_reply(step).text
    # The open question is still open.
    assert stored(d.press("yes")) == [SaveParticipant(language, NOW)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("command", ["foo", "admin", "start2"])
def test_unknown_command(language, command):
    d = Driver(participant=registered(language))
    step = d.send(Command(command))
    assert stored(step) == []
    assert tr(language, UNKNOWN_COMMAND) in only_reply(step).text


KEYWORDS = [
    # (typed, the storing effects, a msgid the reply contains)
    ("stop", [SetStatus("stopped")], STOPPED),
    ("Stop!", [SetStatus("stopped")], STOPPED),
    ("stoppen", [SetStatus("stopped")], STOPPED),
    ("jooji", [SetStatus("stopped")], STOPPED),
    ("توقف", [SetStatus("stopped")], STOPPED),
    ("\u200fتوقف\u200f", [SetStatus("stopped")], STOPPED),
    ("/stop", [SetStatus("stopped")], STOPPED),
    ("/STOP@MeedoenBot", [SetStatus("stopped")], STOPPED),
    ("verwijder", [], ERASE_Q),
    ("tirtir", [], ERASE_Q),
    ("احذف", [], ERASE_Q),
    ("hulp", [], HELP_INTRO),
    ("caawin", [], HELP_INTRO),
    ("مساعدة", [], HELP_INTRO),
    ("/mysignups", [], NO_SIGNUPS),
    ("/foo", [], UNKNOWN_COMMAND),
    ("wie ben ik?", [], WHOAMI),
    ("Who am I", [], WHOAMI),
    ("yaan ahay", [], WHOAMI),
    ("من أنا؟", [], WHOAMI),
    ("/whoami@MeedoenBot", [], WHOAMI),
    ("stop alsjeblieft", [], USE_BUTTONS),  # not exactly a keyword: plain text
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed, effects, msgid", KEYWORDS, ids=[k[0] for k in KEYWORDS])
def test_keywords_act_as_commands(language, typed, effects, msgid):
    d = Driver(participant=registered(language), state={"at": "menu", "q": 5})  # menu open
    step = d.send(Text(typed))
    assert stored(step) == effects
    with use_locale(language):  # as the dialog sends it: RLM at the start of every Arabic line
        expected = directed(tr(language, msgid, organisation=ORGANISATION, address=CHAT_ADDRESS))
    assert expected in text_of(step)


# --- 10. Random conversations: never a crash, never silence ---------------------------------------

TEXTS = [
    "hallo", "Cabdi", "عبدي", "Maxamed Cali", "😀🎉", "\u200f\u202eCabdi\u2066",
    "\x00\x07\x1b[31m",
    "a" * 10_000, "1", "2", "3", "9", "0", "-1", "٢", "١٠", " ", "", "\n\n",
    "Robert'); DROP TABLE participants;--", "%(name)s %s {0}", "stop", "jooji", "توقف",
    "verwijder", "start", "bilow", "/start", "/foo", "/", "/start@bot extra", "help", "نعم",
    "haa", "ja", "Yes, that's okay", "Osdorp", "Nederlands", "العربية",
]
ALPHABET = (
    "abcxyzABC XYZ 0123456789 .,!?'-();%"
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    "ÄÖÜéèçñ"
    "😀🎉👍🏽‍♂️"
    "\u200f\u200e\u202e\u202c\u2066\u2067\u2068\u2069\u200b\ufeff"
    "\x00\x01\x07\x1b\t\n\r\x85\u2028"
)
"""Non-decimal digits such as "²" are left out: see test_superscript_digit_does_not_crash."""
COMMANDS = ["start", "help", "privacy", "language", "mysignups", "cancel", "stop", "delete", "whoami", "foo"]
JUNK_KEYS = ["s:999", "s:3", "s:", "s:x", "lang:de", "a:99", "a:-1", "c:2", "menu:nope", "", "yes"]


def _random_event(rng: random.Random, d: Driver):
    roll = rng.random()
    if roll < 0.35:
        if rng.random() < 0.7:
            return Text(rng.choice(TEXTS))
        length = rng.choice([0, 1, 3, 12, 40, 41, 200, 5000])
        return Text("".join(rng.choice(ALPHABET) for _ in range(length)))
    if roll < 0.72:
        key = rng.choice(d.keys) if d.keys and rng.random() < 0.75 else rng.choice(JUNK_KEYS)
        question = d.question
        if rng.random() < 0.2:
            question = rng.choice([0, d.question - 1, d.question + 1, 10**9, -5])
        return ChoiceMade(key, question)
    if roll < 0.87:
        return Command(rng.choice(COMMANDS), rng.choice(["", "x", "12"]))
    if roll < 0.92:
        return Unsupported(rng.choice(["sticker", "photo", "voice", "location", ""]))
    if roll < 0.96:
        return BadButton()
    return Timer(rng.choice(["reminder", "checkin"]), {"series": 1})


def _shake_the_world(rng: random.Random, d: Driver) -> None:
    """What other people do meanwhile: seats fill up and free, a series opens or closes."""
    series_id = rng.choice(list(d.world.series))
    series = d.world.series[series_id]
    d.world.series[series_id] = replace(
        series,
        confirmed=rng.randint(0, series.capacity),
        open=rng.random() < 0.8,
    )


@pytest.mark.parametrize("seed", range(24))
def test_random_conversations_never_crash_and_never_go_silent(seed):
    rng = random.Random(seed)
    participant = None
    if seed % 3:
        participant = registered(
            rng.choice(LANGUAGES),
            name=rng.choice([None, "Cabdi"]),
            area=rng.choice([None, "Osdorp"]),
            status=rng.choice(["active", "active", "stopped"]),
            signups=rng.choice(
                [(), (SignupView(ROOMY.id, "confirmed"),), (SignupView(FULL.id, "waitlist", 2),)]
            ),
        )
    d = Driver(participant=participant, suggested_language=rng.choice([*LANGUAGES, None, "de"]))
    for number in range(300):
        if rng.random() < 0.03:
            _shake_the_world(rng, d)
        event = _random_event(rng, d)
        try:
            d.send(event)  # checks: no crash, a non-empty reply, bidi, nothing before consent
        except Exception as error:  # pragma: no cover - the message is the point
            history = [e for e, _ in d.steps[-5:]]
            raise AssertionError(
                f"seed {seed}, step {number}: {event!r} after {history!r} in state {d.state!r}"
            ) from error


# --- Bugs found while writing this suite, each with its smallest reproduction ----------------------------------------------


@pytest.mark.parametrize("typed", ["²", "①", "1²"])
def test_superscript_digit_does_not_crash(typed):
    d = at_language("nl")
    d.send(Text(typed))  # ValueError in _typed_choice
    assert tr("nl", USE_BUTTONS) in d.last.text


def test_a_series_without_a_meeting_ahead_is_neither_offered_nor_joined():
    d = Driver(participant=registered("nl"))
    d.world.series = {ROOMY.id: replace(ROOMY, next_meeting=None)}
    d.send(Command("start"))
    assert f"s:{ROOMY.id}" not in keys(d.last)
    step = d.press(f"s:{ROOMY.id}")  # a button kept from earlier, say
    assert stored(step) == []
    # No date is made up: the real clock's today must not appear as a meeting date.
    today = format_datetime(
        datetime.now(UTC), "EEEE d MMMM", tzinfo=ZoneInfo(TIMEZONE), locale="nl"
    )
    assert today not in d.last.text


def test_a_timer_never_messages_a_stopped_participant():
    d = Driver(participant=registered("nl", status="stopped"), state={"at": "menu", "q": 3})
    step = d.send(Timer("reminder"))
    assert replies(step) == []


def test_a_timer_does_not_greet_a_stranger():
    d = Driver()
    step = d.send(Timer("reminder"))
    assert replies(step) == []


def test_waiting_list_for_a_series_that_closed_meanwhile():
    d = at_waitlist("nl")
    d.world.series[FULL.id] = replace(FULL, open=False)
    step = d.press("wait")
    assert not any(isinstance(effect, SignUp) for effect in step.effects)


def _first_strong_direction(line: str) -> str | None:
    """The paragraph direction the Unicode bidi algorithm gives ``line`` (rule P2: the first
    strong character, skipping isolated runs)."""
    depth = 0
    for ch in line:
        if ch in "\u2066\u2067\u2068":
            depth += 1
        elif ch == PDI:
            depth = max(depth - 1, 0)
        elif not depth and unicodedata.bidirectional(ch) in ("L", "R", "AL"):
            return "rtl" if unicodedata.bidirectional(ch) != "L" else "ltr"
    return None


def test_every_line_of_an_arabic_reply_is_laid_out_right_to_left():
    """Each line of a message is its own bidi paragraph: one RLM at the start of the message
    does not make a later line that starts with "/start" right-to-left."""
    d = Driver(participant=registered("ar"))
    text = only_reply(d.send(Command("help"))).text
    for line in text.split("\n"):
        assert _first_strong_direction(line) in ("rtl", None), repr(line)


def test_handle_is_pure_for_the_same_input():
    """The same state, event and context give the same step (no hidden clock or globals)."""
    d = at_series("so")
    ctx, state = d.ctx, dict(d.state)
    event = ChoiceMade(f"s:{ROOMY.id}", d.question)
    assert handle(state, event, ctx) == handle(state, event, ctx)


# --- /whoami: his chat address, for anyone, at any moment --------------------------------------


def _whoami_drivers(language: str) -> dict[str, Driver]:
    return {
        "a stranger": Driver(),
        "before consent": at_consent(language),
        "at the name question": at_name(language),
        "signed up": Driver(participant=registered(language)),
        "paused": Driver(participant=registered(language, status="stopped"), state={"at": "menu", "q": 5}),
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", ["a stranger", "before consent", "at the name question", "signed up", "paused"])
def test_whoami_answers_his_address_as_the_cli_takes_it(language, who):
    d = _whoami_drivers(language)[who]
    shown_language = language if who != "a stranger" else "nl"
    before = dict(d.state)
    step = d.send(Command("whoami"))
    assert stored(step) == [] and step.state == before  # nothing changes where he is
    text = only_reply(step).text
    with use_locale(shown_language):
        assert text == directed(tr(shown_language, WHOAMI, address=CHAT_ADDRESS))
    visible_lines = [line.strip(RLM + FSI + LRI + PDI) for line in text.split("\n")]
    assert CHAT_ADDRESS in visible_lines  # on a line of its own, to copy
