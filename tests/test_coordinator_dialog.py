"""Pure dialog tables (``dialogs.router.handle``, no I/O): a coordinator finds his commands in
/help, composes a broadcast with the text given to /broadcast, and reads language names in his
own language; a man who writes first is answered in the language he most likely reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.i18n import FSI, PDI, RLM, _, directed, fill, use_locale
from dialogs.language_guess import likely_language
from dialogs.router import handle
from dialogs.types import (
    LANGUAGES,
    ChoiceMade,
    Command,
    CoordinatorView,
    QueueBroadcast,
    Reply,
    Step,
    Text,
)
from tests.dialog_helpers import ORGANISATION, World, check_reply, registered
from tests.test_dialog_signup import GREETING

COORDINATOR_LINES = (
    "As a coordinator you can also use:",
    "/rsvps – who is coming to the next meetings",
    "/attendance – tick who was there",
    "/broadcast – send a message to many people",
    "/report – the anonymous report",
)


def tr(language: str, message: str, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values) if values else _(message)


class Chat:
    """One chat through the router: the state threaded, every reply checked."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.state: dict = {}
        self.q = 0
        self.effects: list = []

    def send(self, event) -> Reply:
        step: Step = handle(self.state, event, self.ctx)
        self.state = step.state
        self.effects = list(step.effects)
        replies = [e for e in step.effects if isinstance(e, Reply)]
        assert replies, f"silence after {event!r}"
        for reply in replies:
            check_reply(reply)
            if reply.question:
                self.q = reply.question
        return replies[-1]

    def press(self, key: str) -> Reply:
        return self.send(ChoiceMade(key, self.q))


def coordinator_chat(language: str) -> Chat:
    ctx = replace(
        World(participant=registered(language)).context(),
        is_coordinator=True,
        coordinator=CoordinatorView(audience_sizes={"all": 7, "language:ar": 3}, selected_count=7),
    )
    return Chat(ctx)


# --- which language he most likely reads -------------------------------------------------------


@pytest.mark.parametrize(
    "text, hint, expected",
    [
        ("السلام عليكم", None, "ar"),
        ("مرحبا", "nl", "ar"),  # his script over his app's language
        ("٢", None, "ar"),  # Arabic-Indic digits: an Arabic keyboard
        ("Salaan, waxaan rabaa inaan is diiwaangeliyo", None, "so"),
        ("Iska warran walaal", "en", "so"),
        ("Hello waan rabaa", None, "so"),  # a greeting in English, the rest Somali
        ("Hallo, ik wil graag meedoen", "en", "nl"),  # a Dutch sentence over an English phone
        ("Hello, I would like to join", "nl", "en"),
        ("hallo", "ar", "ar"),  # one greeting says little: the app's language counts
        ("hallo", None, "nl"),
        ("hello", None, "en"),
        ("Привет", None, "en"),  # another script: not Dutch by default
        ("ሰላም", None, "en"),
        ("salaam", "so", "so"),  # shared across languages: no sign either way
        ("salaam", None, None),
        ("1", None, None),
        ("/start", "ar", "ar"),
        (None, "so", "so"),
        ("?", "de", None),  # a language we do not speak is no sign
    ],
)
def test_likely_language(text, hint, expected):
    assert likely_language(text, hint) == expected


@pytest.mark.parametrize(
    "first, hint, expected",
    [
        (Text("السلام عليكم، أريد التسجيل"), None, "ar"),
        (Text("Salaan, waxaan rabaa inaan ka qayb qaato"), "nl", "so"),
        (Text("bilow"), "en", "so"),  # a Somali keyword: read before it becomes /start
        (Text("ابدأ"), None, "ar"),
        (Text("Goedemiddag, ik wil me aanmelden"), None, "nl"),
        (Command("start"), "en", "en"),
        (Text("salaam"), None, "nl"),  # no sign at all: Dutch
    ],
)
def test_the_first_message_is_in_his_likely_language_with_the_menu_one_tap_away(first, hint, expected):
    chat = Chat(World().context(suggested_language=hint))
    reply = chat.send(first)
    assert tr(expected, GREETING, organisation=ORGANISATION) in reply.text
    assert reply.text.startswith(RLM) == (expected == "ar")
    assert [o.key for o in reply.options][0] == f"lang:{expected}"
    assert sorted(o.key for o in reply.options) == sorted(f"lang:{code}" for code in LANGUAGES)
    # "1" carries no sign: it answers the same menu, and the guess is not lost
    consent = chat.send(Text("1"))
    assert tr(expected, "Yes, that's okay") in [o.label for o in consent.options]


def test_a_later_message_without_signs_keeps_the_guess_and_signing_up_drops_it():
    chat = Chat(World().context(suggested_language="nl"))
    chat.send(Text("Iska warran"))
    again = chat.send(Text("?"))  # not a button: asked again, still in Somali
    assert tr("so", "Which language would you like me to use?") in again.text
    assert [o.key for o in again.options][0] == "lang:so"
    chat.press("lang:so")
    chat.press("yes")
    chat.ctx = World(participant=registered("so")).context(suggested_language="nl")
    chat.send(Command("help"))
    assert "guess" not in chat.state


# --- a coordinator's /help ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_coordinators_help_lists_his_commands_in_his_language(language):
    def shown(line: str) -> str:
        """The line as the help shows it (Arabic: its /command isolated left to right)."""
        with use_locale(language):
            return directed(tr(language, line)).lstrip(RLM)

    text = coordinator_chat(language).send(Command("help")).text
    for line in COORDINATOR_LINES:
        assert shown(line) in text
    ordinary = Chat(World(participant=registered(language)).context()).send(Command("help")).text
    for line in COORDINATOR_LINES:
        assert shown(line) not in ordinary
    assert shown("/start – join a conversation group") in ordinary


# --- broadcast: language names, the preview, /broadcast TEXT -----------------------------------------


ARABIC_TEXT_QUESTION = {
    "nl": "Schrijf nu hetzelfde bericht in het Arabisch, of druk op Overslaan.",
    "en": "Now the same message in Arabic, or press Skip.",
    "so": "Hadda qor isla fariintaas af Carabi, ama riix Ka gudub.",
    "ar": "والآن اكتب الرسالة نفسها باللغة العربية، أو اضغط «تخطي».",
}
READS_ARABIC = {
    "nl": "Iedereen die Arabisch leest (3)",
    "en": "Everyone who reads Arabic (3)",
    "so": "Dhammaan inta akhrisa af Carabi (3)",
    "ar": "كل من يقرأ باللغة العربية (3)",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_sentence_names_languages_in_the_readers_language(language):
    chat = coordinator_chat(language)
    audience = chat.send(Command("broadcast"))
    labels = {o.key: o.label for o in audience.options}
    assert labels["co:a:language:ar"] == READS_ARABIC[language]
    chat.press("co:a:all")
    chat.press("co:next")
    chat.send(Text("Kom donderdag naar de bijeenkomst!"))
    asked = chat.press("co:novoice")  # no voice message for the Dutch text
    assert ARABIC_TEXT_QUESTION[language] in asked.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_preview_isolates_each_language_label(language):
    chat = coordinator_chat(language)
    chat.send(Command("broadcast"))
    chat.press("co:a:all")
    chat.press("co:next")
    chat.send(Text("Kom donderdag!"))
    chat.press("co:novoice")
    chat.send(Text("تعال يوم الخميس!"))
    chat.press("co:novoice")
    chat.press("co:skip")
    chat.press("co:skip")
    preview = chat.press("co:i:-").text
    for name in ("Nederlands", "العربية", "Soomaali", "English"):
        assert f"[{FSI}{name}{PDI}]" in preview
    assert "[العربية]" not in preview  # never bare: the brackets would turn round
    assert "تعال يوم الخميس!" in preview


def test_a_coordinator_who_never_signed_up_keeps_his_language_while_typing_arabic():
    ctx = replace(World().context(), is_coordinator=True, coordinator=CoordinatorView(selected_count=2))
    chat = Chat(ctx)
    chat.send(Command("broadcast"))
    chat.press("co:a:all")
    chat.press("co:next")
    asked = chat.send(Text("تعالوا يوم الخميس!"))  # the Dutch text, written in Arabic
    assert not asked.text.startswith(RLM)
    assert tr("nl", "Skip") in [o.label for o in asked.options]
    assert "guess" not in chat.state


def test_broadcast_with_a_text_uses_it_and_does_not_ask_for_it_again():
    chat = coordinator_chat("nl")
    audience = chat.send(Command("broadcast", "Hallo allemaal, tot donderdag!"))
    assert tr("nl", "Who should get this message?") in audience.text
    chat.press("co:a:all")
    voice = chat.press("co:next")
    assert tr("nl", "Write the message in Dutch.") not in voice.text
    asked = chat.press("co:novoice")
    assert ARABIC_TEXT_QUESTION["nl"] in asked.text
    chat.press("co:skip")
    chat.press("co:skip")
    chat.press("co:skip")
    preview = chat.press("co:i:-")
    assert "Hallo allemaal, tot donderdag!" in preview.text
    chat.press("co:send")
    assert QueueBroadcast(("all",), {"nl": "Hallo allemaal, tot donderdag!"}, None) in chat.effects


def test_broadcast_with_a_text_on_the_next_line_uses_it_too():
    chat = coordinator_chat("nl")
    chat.send(Text("/broadcast\nHallo allemaal"))
    chat.press("co:a:all")
    chat.press("co:next")
    assert ARABIC_TEXT_QUESTION["nl"] in chat.press("co:novoice").text


def test_broadcast_with_a_text_that_is_too_long_says_so_and_asks_for_it_later():
    chat = coordinator_chat("nl")
    audience = chat.send(Command("broadcast", "x" * 3001))
    assert tr("nl", "That is too long. Please keep it under %(limit)s characters.", limit=3000) in audience.text
    assert tr("nl", "Who should get this message?") in audience.text
    chat.press("co:a:all")
    assert tr("nl", "Write the message in Dutch.") in chat.press("co:next").text
