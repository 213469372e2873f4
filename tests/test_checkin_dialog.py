"""The check-in dialog as a table, in every language: pure, through the router, with the real
catalogs. No database, no network, no clock."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from dialogs import checkin, router
from dialogs.i18n import FSI, LRI, PDI, RLM, _, fill, use_locale
from dialogs.types import (
    LANGUAGES,
    STANDING,
    AskContact,
    BadButton,
    ChoiceMade,
    Command,
    Context,
    CountStep,
    ParticipantView,
    RecordCheckin,
    Reply,
    Step,
    Text,
    Timer,
    Unsupported,
    WakeAt,
)

NOW = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)  # Friday 09:30 in Amsterdam
ZONE = "Europe/Amsterdam"
ITEM_KEYS = ["a:0", "a:1", "a:2", "skip"]
HELP_NUMBERS = ("113", "0800-0113", "088 0767 000")

OFFICIAL_DUTCH = (
    "Ik ervaar een leegte om me heen",
    "Ik mis mensen om me heen",
    "Vaak voel ik me in de steek gelaten",
    "Er zijn genoeg mensen op wie ik in geval van narigheid kan terugvallen",
    "Ik heb veel mensen op wie ik volledig kan vertrouwen",
    "Er zijn voldoende mensen met wie ik me nauw verbonden voel",
)
OFFICIAL_DUTCH_STEM = (
    "Wil je van elk van de volgende uitspraken aangeven in hoeverre die op jou, zoals je de "
    "laatste tijd bent, van toepassing is?"
)


def tr(language: str, message: str, /, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values) if values else _(message)


def context(language="nl", *, now=NOW, participant="registered", checked_in=False) -> Context:
    if participant == "registered":
        participant = ParticipantView(language, "Cabdi", "Osdorp", "active")
    return Context(
        now=now,
        timezone=ZONE,
        organisation="Meedoen",
        areas=("Osdorp",),
        participant=participant,
        checked_in_this_week=checked_in,
    )


class Chat:
    """Threads the state through ``router.handle`` and checks every step on the way."""

    def __init__(self, ctx: Context, state: dict | None = None) -> None:
        self.ctx = ctx
        self.state = state or {"q": 4, "at": "menu"}  # a man who signed up earlier
        self.steps: list[Step] = []

    def send(self, event, *, ctx: Context | None = None) -> Step:
        before = copy.deepcopy(self.state)
        step = router.handle(self.state, event, ctx or self.ctx)
        assert self.state == before, "handle() mutated the state it was given"
        json.dumps(step.state)
        for reply in replies(step):
            check_reply(reply)
        if not isinstance(event, Timer):
            assert replies(step), f"silence after {event!r}"
        self.state = step.state
        self.steps.append(step)
        return step

    def press(self, key: str) -> Step:
        return self.send(ChoiceMade(key, self.state["q"]))

    @property
    def last(self) -> Reply:
        return replies(self.steps[-1])[-1]


def replies(step: Step) -> list[Reply]:
    return [e for e in step.effects if isinstance(e, Reply)]


def others(step: Step) -> list:
    """Effects other than messages and the funnel's counts (tested in tests/test_funnel.py)."""
    return [e for e in step.effects if not isinstance(e, (Reply, CountStep))]


def check_reply(reply: Reply) -> None:
    lines = reply.text.split("\n")
    if RLM in reply.text:
        assert all(line.startswith(RLM) for line in lines if line), reply.text
        assert RLM not in "".join(line[1:] for line in lines)
    assert reply.text.count(FSI) + reply.text.count(LRI) == reply.text.count(PDI)
    keys = [o.key for o in reply.options]
    assert len(keys) == len(set(keys)) and all(o.label.strip() for o in reply.options)
    if reply.options:
        standing = all(k.startswith("ck:") for k in keys)
        assert (reply.question == STANDING) if standing else reply.question > 0, reply


def visible(text: str) -> str:
    return text.replace(RLM, "").replace(FSI, "").replace(LRI, "").replace(PDI, "")


# --- The whole check-in, in every language -----------------------------------------------------

ANSWERS = [  # (key pressed, stored value)
    ("a:2", 2), ("a:1", 1), ("skip", None), ("a:0", 0), ("a:0", 0), ("a:1", 1),
    ("yes", True), ("w:7", 7),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_full_check_in(language):
    chat = Chat(context(language))
    first = chat.send(Command("checkin"))
    assert others(first) == [WakeAt(NOW + timedelta(minutes=30))]
    assert chat.state["flow"] == "checkin"
    intro = chat.last
    assert tr(language, "Thank you for taking a moment. Your answers are anonymous: they are saved "
              "without your name, your number or the exact date, so nobody, not even the "
              "coordinators, can see what you answered. You can skip any question.") in visible(intro.text)
    assert tr(language, checkin.ITEMS[0]) in visible(intro.text)
    if language == "nl":
        assert OFFICIAL_DUTCH_STEM in intro.text
    if language == "ar":
        assert intro.text.startswith(RLM)
    expected_labels = [tr(language, label) for label in ("Yes", "More or less", "No", "Skip")]

    for number, (key, _value) in enumerate(ANSWERS):
        asked = chat.last
        assert tr(language, "Question %(number)s of %(total)s", number=number + 1, total=8) in asked.text
        if number < 6:
            assert [o.key for o in asked.options] == ITEM_KEYS
            assert [o.label for o in asked.options] == expected_labels
            assert tr(language, checkin.ITEMS[number]) in visible(asked.text)
            if language == "nl":
                assert OFFICIAL_DUTCH[number] in asked.text
        elif number == 6:
            assert [o.key for o in asked.options] == ["yes", "no", "skip"]
        else:
            assert [o.key for o in asked.options] == [f"w:{n}" for n in range(11)] + ["skip"]
            assert [o.label for o in asked.options][:11] == [str(n) for n in range(11)]
        q_before = chat.state["q"]
        step = chat.press(key)
        if number < len(ANSWERS) - 1:
            assert others(step) == [], "nothing is stored before the end"
            assert chat.state["q"] == q_before + 1
            assert chat.state["checkin"]["answers"] == [v for _k, v in ANSWERS[: number + 1]]

    assert others(step) == [
        WakeAt(None),
        RecordCheckin((2, 1, None, 0, 0, 1), True, 7, language),
    ]
    assert "checkin" not in chat.state and "flow" not in chat.state, "answers wiped at the end"
    thanks = chat.last
    assert tr(language, "Thank you for your answers! They help us make the meetings better.") in visible(thanks.text)
    assert not any(number in thanks.text for number in ("0800-0113", "088 0767 000")), "no help lines"
    assert [o.key for o in thanks.options] == ["ck:contact"] and thanks.question == STANDING


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_severe_score_offers_real_help_gently(language):
    chat = Chat(context(language))
    chat.send(Command("checkin"))
    for key in ("a:0", "a:0", "a:1", "a:2", "a:2", "a:1", "no", "w:2"):  # total 6
        step = chat.press(key)
    record = next(e for e in step.effects if isinstance(e, RecordCheckin))
    assert record.items == (0, 0, 1, 2, 2, 1)
    text = chat.last.text
    for number in HELP_NUMBERS:
        assert number in text
    assert "113 Zelfmoordpreventie" in text and "De Luisterlijn" in text and "113.nl" in text
    assert tr(language, "Thank you for your honesty. Sometimes life feels heavy, and you don't "
              "have to carry that alone. Talking to someone can help, at any moment:") in visible(text)
    if language == "ar":
        assert f"{LRI}0800-0113{PDI}" in text, "numbers isolated in right-to-left text"
    for word in ("diagnos", "lonely", "eenzaam"):
        assert word not in text.lower(), "never a label or a diagnosis"
    assert [o.key for o in chat.last.options] == ["ck:contact"]

    contact = chat.send(ChoiceMade("ck:contact", STANDING))
    assert others(contact) == [AskContact()]
    assert tr(language, "I have asked a coordinator to get in touch with you. They only know that "
              "you asked, not what you answered.") in visible(chat.last.text)


def test_the_contact_button_is_offered_to_everyone_so_a_request_reveals_no_score():
    chat = Chat(context("en"))
    chat.send(Command("checkin"))
    for key in ("a:2", "a:2", "a:2", "a:0", "a:0", "a:0", "yes", "w:9"):  # total 0
        chat.press(key)
    assert "0800-0113" not in chat.last.text
    assert [o.key for o in chat.last.options] == ["ck:contact"]


# --- The rules around it ---------------------------------------------------------------------------


def test_at_most_once_per_iso_week():
    chat = Chat(context("so", checked_in=True))
    step = chat.send(Command("checkin"))
    assert others(step) == [] and "flow" not in chat.state
    assert chat.last.text == tr(
        "so", "You have already answered the questions this week. Thank you! You are welcome to "
        "answer them again next week."
    )
    step = chat.send(ChoiceMade("ck:go", STANDING))
    assert others(step) == [] and "flow" not in chat.state


def test_the_offer_and_not_now():
    offer = checkin.offer("ar")
    assert offer.text.startswith(RLM) and offer.question == STANDING
    assert [o.key for o in offer.options] == ["ck:go", "ck:later"]
    assert [o.label for o in offer.options] == [tr("ar", "Yes, let's start"), tr("ar", "Not now")]

    chat = Chat(context("nl"))
    step = chat.send(ChoiceMade("ck:later", STANDING))
    assert others(step) == [], "'not now' is not an answer: nothing is stored"
    assert chat.state["checkin_later"] == "2026-11-20"  # the local date
    assert chat.last.text == tr("nl", "That's fine. If you feel like it another time, just send /checkin.")
    late_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 00:30 on the 21st in Amsterdam
    assert checkin.local_date(late_evening, ZONE) == "2026-11-21"

    step = chat.send(ChoiceMade("ck:go", STANDING))
    assert others(step) == [WakeAt(NOW + timedelta(minutes=30))]
    assert chat.state["flow"] == "checkin"
    again = chat.send(ChoiceMade("ck:go", STANDING))  # the offer's button once more
    assert others(again) == [] and chat.state["checkin"]["answers"] == []
    assert [o.key for o in chat.last.options] == ITEM_KEYS


def test_typed_text_gets_a_kind_note_and_the_question_again():
    chat = Chat(context("nl"))
    chat.send(Command("checkin"))
    q = chat.state["q"]
    step = chat.send(Text("Het gaat wel, mijn broer is ziek"))
    assert others(step) == []
    assert chat.state["checkin"]["answers"] == [], "free text is never kept"
    assert chat.state["q"] == q + 1
    text = chat.last.text
    assert text.startswith(tr("nl", "Please answer with one of the buttons. What you type here is not saved."))
    assert OFFICIAL_DUTCH[0] in text and [o.key for o in chat.last.options] == ITEM_KEYS
    assert "broer" not in json.dumps(chat.state)

    chat.send(Text("2"))  # a numbered list on WhatsApp: the 2nd button
    assert chat.state["checkin"]["answers"] == [1]
    chat.send(Text("nee"))  # the label itself
    assert chat.state["checkin"]["answers"] == [1, 2]
    for key in ("a:0", "a:0", "a:0", "a:0", "no"):
        chat.press(key)
    chat.send(Text("7"))  # on the 0-10 question a typed number is the score, not a position
    record = next(e for e in chat.steps[-1].effects if isinstance(e, RecordCheckin))
    assert record == RecordCheckin((1, 2, 0, 0, 0, 0), False, 7, "nl")


def test_stale_buttons_stickers_and_forged_buttons_repeat_the_question():
    chat = Chat(context("en"))
    chat.send(Command("checkin"))
    chat.press("a:0")
    old_q = chat.state["q"] - 1
    chat.send(ChoiceMade("a:1", old_q))
    assert chat.last.text.startswith("That button belongs to an earlier question.")
    chat.send(Unsupported("sticker"))
    assert chat.last.text.startswith("Sorry, I can only read text and buttons.")
    chat.send(BadButton())
    assert chat.last.text.startswith("Sorry, I could not read that button.")
    chat.press("w:5")  # a key of another question
    assert chat.last.text.startswith("Sorry, that choice is no longer available.")
    assert chat.state["checkin"]["answers"] == [0]
    assert "I miss having people around me" in chat.last.text


def test_abandoned_after_30_minutes_the_answers_are_wiped_silently():
    chat = Chat(context("so"))
    chat.send(Command("checkin"))
    chat.press("a:0")
    chat.press("a:1")
    step = chat.send(Timer("wake"))
    assert replies(step) == [] and others(step) == []
    assert "checkin" not in chat.state and "flow" not in chat.state
    assert chat.state["q"] >= 3, "the question counter stays, so old buttons are stale"


def test_a_late_answer_after_the_lifetime_is_not_taken():
    chat = Chat(context("en"))
    chat.send(Command("checkin"))
    chat.press("a:0")
    late = context("en", now=NOW + timedelta(minutes=31))
    step = chat.send(ChoiceMade("a:1", chat.state["q"]), ctx=late)
    assert others(step) == [WakeAt(None)]
    assert "checkin" not in chat.state
    assert "/checkin" in chat.last.text


def test_another_command_ends_the_check_in_and_forgets_the_answers():
    chat = Chat(context("nl"))
    chat.send(Command("checkin"))
    chat.press("a:0")
    chat.send(Command("help"))
    assert "checkin" not in chat.state and "flow" not in chat.state


def test_skipping_everything_stores_nothing():
    chat = Chat(context("en"))
    chat.send(Command("checkin"))
    for _n in range(8):
        step = chat.press("skip")
    assert others(step) == [WakeAt(None)]
    assert chat.last.text.startswith("Thank you for your answers!")


@pytest.mark.parametrize("language", ["nl", "so"])
def test_strangers_and_paused_men_get_the_conversations_answers(language):
    stranger = Chat(context(language, participant=None), state={"lang": language})
    stranger.send(Command("checkin"))
    assert stranger.last.text == tr(language, "You haven't signed up yet. Send /start to begin.")
    assert "flow" not in stranger.state
    stranger.send(ChoiceMade("ck:go", STANDING))
    assert stranger.last.text == tr(language, "You haven't signed up yet. Send /start to begin.")

    paused = ParticipantView(language, None, None, "stopped")
    chat = Chat(context(language, participant=paused))
    step = chat.send(Command("checkin"))
    assert chat.last.text == tr(language, "Your messages are paused. Send /start to turn them back on.")
    assert others(step) == [] and "flow" not in chat.state
    step = chat.send(ChoiceMade("ck:contact", STANDING))
    assert others(step) == []


def test_the_dutch_catalog_holds_the_official_wording_and_every_language_is_translated():
    with use_locale("nl"):
        assert tuple(_(item) for item in checkin.ITEMS) == OFFICIAL_DUTCH
    for language in ("nl", "ar", "so"):
        for item in checkin.ITEMS:
            assert tr(language, item) != item, f"{language}: {item!r} untranslated"


@pytest.mark.parametrize("language", LANGUAGES)
def test_whoami_in_the_middle_of_a_check_in_keeps_the_answers_and_the_question(language):
    ctx = dataclasses.replace(context(language), chat_address="whatsapp:+31612345678")
    chat = Chat(ctx)
    chat.send(Command("checkin"))
    chat.press("a:2")
    during = dict(chat.state)
    step = chat.send(Command("whoami"))
    assert others(step) == [] and chat.state == during
    assert "whatsapp:+31612345678" in visible(chat.last.text)
    chat.press("a:1")  # the open question's button still counts
    assert chat.state["checkin"]["answers"] == [2, 1]
