"""The WhatsApp channel's pure parts, as tables: typed answers, keywords, Twilio's webhook fields
→ events, messages → what is sent, Twilio errors → outbox outcomes, the templates file, the
settings. (End to end, with Twilio's spec through prism: ``tests/test_whatsapp.py``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import numbered
from bot.channels.base import Outgoing
from bot.channels.registry import require_channels
from bot.channels.whatsapp import errors, render
from bot.channels.whatsapp.templates import Template, Templates, load_templates, parse_templates
from bot.config import ConfigError, load_settings
from dialogs.i18n import RLM
from dialogs.keywords import as_command
from dialogs.typed import fold, match_option
from dialogs.types import ChoiceMade, Command, Option, Text, Unsupported, VoiceNote

REPOSITORY = Path(__file__).resolve().parents[1]
SID = "AC" + "ab" * 16
OPENER = "HX" + "1" * 32

# --- typed answers -----------------------------------------------------------------------------

LANGUAGE_MENU = (
    Option("Nederlands", "lang:nl"),
    Option("العربية", "lang:ar"),
    Option("Soomaali", "lang:so"),
    Option("English", "lang:en"),
)
CONSENT = {
    "nl": (Option("Ja, dat is goed", "yes"), Option("Nee, liever niet", "no")),
    "ar": (Option("نعم، موافق", "yes"), Option("لا، شكرًا", "no")),
    "so": (Option("Haa, waa hagaag", "yes"), Option("Maya, mahadsanid", "no")),
    "en": (Option("Yes, that's okay", "yes"), Option("No, thank you", "no")),
}
SERIES = (Option("Mannen in gesprek", "s:1"), Option("Vaders van Osdorp", "s:2"), Option("Café Zuid", "s:3"))


@pytest.mark.parametrize(
    "typed, key",
    [
        ("2", "lang:ar"), ("2.", "lang:ar"), ("2)", "lang:ar"), ("(2)", "lang:ar"), ("#2", "lang:ar"),
        (" 2 ", "lang:ar"), ("2️⃣", "lang:ar"), ("٢", "lang:ar"), ("۲", "lang:ar"), ("２", "lang:ar"),
        ("\u200f2", "lang:ar"), ("2 العربية", "lang:ar"), ("4 english", "lang:en"),
        ("العربية", "lang:ar"), ("العربيه", "lang:ar"), ("ARABIC", "lang:ar"), ("عربي", "lang:ar"),
        ("soomaali", "lang:so"), ("Somali", "lang:so"), ("af soomaali", "lang:so"),
        ("Dutch", "lang:nl"), ("nederlands!", "lang:nl"), ("engels", "lang:en"),
        ("5", None), ("0", None), ("2 english", None), ("12345", None),
        ("", None), ("   ", None), ("🙂", None), ("ar", None), ("hallo", None),
    ],
)
def test_typed_answers_to_the_language_menu(typed, key):
    assert match_option(typed, LANGUAGE_MENU) == key


@pytest.mark.parametrize("language", CONSENT)
@pytest.mark.parametrize(
    "typed, key",
    [
        ("1", "yes"), ("2", "no"),
        ("ja", "yes"), ("Yes", "yes"), ("haa", "yes"), ("نعم", "yes"), ("YES!", "yes"), ("aywa", "yes"),
        ("nee", "no"), ("no", "no"), ("Maya", "no"), ("لا", "no"), ("لأ", "no"),
        ("ok", None), ("okay", None), ("misschien", None),
    ],
)
def test_a_plain_yes_or_no_in_any_language_answers_a_yes_no_question(language, typed, key):
    assert match_option(typed, CONSENT[language]) == key


@pytest.mark.parametrize(
    "typed, key",
    [
        ("mannen in gesprek", "s:1"), ("MANNEN IN GESPREK.", "s:1"), ("mannen", "s:1"),
        ("vaders", "s:2"), ("cafe zuid", "s:3"), ("Café Zuid ☕", "s:3"), ("cafe", "s:3"),
        ("in", None), ("gesprek", None), ("man", None), ("3", "s:3"),
    ],
)
def test_labels_match_ignoring_case_accents_emoji_and_leading_words(typed, key):
    assert match_option(typed, SERIES) == key


def test_arabic_letters_and_marks_fold_together():
    assert fold("نَعَمْ") == fold("نعم")
    assert fold("أحمد") == fold("احمد") == fold("إحمد")
    assert fold("مساعدة") == fold("مساعده")
    assert fold("ـــنعم") == "نعم"  # tatweel
    options = (Option("الخروج من السلسلة", "leave"), Option("لا داعي", "keep"))
    assert match_option("لا", options) == "keep"


def test_a_name_is_not_mistaken_for_skip():
    skip = (Option("Ka gudub", "skip"),)
    for name in ("Ka", "Cabdi", "Kaafi", "Yusuf"):
        assert match_option(name, skip) is None
    assert match_option("1", skip) == "skip"
    assert match_option("ka gudub", skip) == "skip"


# --- keywords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, command",
    [
        ("STOP", "stop"), ("Stop.", "stop"), ("stoppen", "stop"), ("jooji", "stop"), ("Joogso!", "stop"),
        ("توقف", "stop"), ("توقّف", "stop"), ("إيقاف", "stop"), ("ستوب", "stop"), ("stop 🛑", "stop"),
        ("START", "start"), ("begin", "start"), ("bilow", "start"), ("ابدأ", "start"), ("ابدا", "start"),
        ("HELP", "help"), ("hulp?", "help"), ("caawin", "help"), ("i caawi", "help"), ("مساعدة", "help"),
        ("delete", "delete"), ("verwijder", "delete"), ("tirtir", "delete"), ("احذف", "delete"),
        ("stop at 7", None), ("please help me", None), ("Stopera", None),
    ],
)
def test_keywords_in_every_language(text, command):
    event = as_command(Text(text))
    assert (event.name if isinstance(event, Command) else None) == command


# --- inbound webhook fields ------------------------------------------------------------------


def fields(**extra) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+31612345678", "Body": "", "NumMedia": "0", **extra}


@pytest.mark.parametrize(
    "form, event, template_button",
    [
        (fields(Body="Hallo"), Text("Hallo"), False),
        (fields(Body="  "), None, False),
        (fields(MessageType="reaction", Body="👍"), None, False),
        (fields(ButtonPayload="7:lang:ar", ButtonText="العربية", Body="العربية"), ChoiceMade("lang:ar", 7), False),
        (fields(ButtonPayload="show", ButtonText="Show message", Body="Show message"), Text("Show message"), True),
        (fields(NumMedia="1", MediaContentType0="image/jpeg", MessageType="image"), Unsupported("image"), False),
        (fields(NumMedia="1", MediaContentType0="audio/ogg"), VoiceNote(), False),  # issue 19
        (fields(NumMedia="2", MediaContentType0="audio/ogg"), Unsupported("audio"), False),
        (fields(Latitude="52.37", Longitude="4.80", MessageType="location"), Unsupported("location"), False),
        (fields(NumMedia="1", MessageType="sticker", Body="x"), Unsupported("sticker"), False),
    ],
)
def test_inbound_fields_become_events(form, event, template_button):
    message = render.inbound(form)
    assert (message.address, message.event, message.template_button) == ("+31612345678", event, template_button)


@pytest.mark.parametrize(
    "form",
    [
        fields(MessageSid=""),
        fields(From="+31612345678"),
        fields(From="whatsapp:0612345678"),
        fields(From="messenger:+31612345678"),
        {"Body": "Hallo"},
    ],
)
def test_a_webhook_without_a_whatsapp_sender_or_id_is_no_message(form):
    assert render.inbound(form) is None


@pytest.mark.parametrize(
    "address, hint",
    [("+31612345678", "nl"), ("+252612345678", "so"), ("+212612345678", "ar"), ("+201001234567", "ar"),
     ("+963912345678", "ar"), ("+447700900123", "en"), ("+93701234567", None), ("+15551234567", None)],
)
def test_the_country_code_only_hints_at_a_language(address, hint):
    assert render.language_hint(address) == hint


# --- outbound rendering ------------------------------------------------------------------------


def test_options_become_a_numbered_list_that_keeps_the_text_direction():
    message = Outgoing("Kies:", (Option("Ja", "y"), Option("Nee", "n")))
    assert numbered.text(message) == "Kies:\n\n1 Ja\n2 Nee"
    arabic = Outgoing(RLM + "اختر:", (Option("نعم", "y"), Option("لا", "n")))
    assert numbered.text(arabic) == f"{RLM}اختر:\n\n{RLM}1 نعم\n{RLM}2 لا"
    assert render.bodies(Outgoing("Hallo")) == ["Hallo"]


def test_long_texts_stay_within_twilios_1600_utf16_units():
    emoji_text = "🙂 " * 1200  # 1,200 emoji: 3,600 UTF-16 units
    parts = render.bodies(Outgoing(emoji_text))
    assert all(render.utf16_length(part) <= 1600 for part in parts)
    assert "".join(parts).replace(" ", "") == emoji_text.replace(" ", "")
    one_word = "x" * 4000
    assert [len(p) for p in render.bodies(Outgoing(one_word))] == [1600, 1600, 800]


def test_template_text_is_one_line():
    message = Outgoing(f"{RLM}سطر أول\n{RLM}\n\n{RLM}سطر  ثان\tهنا", (Option("نعم", "y"),))
    text = render.template_text(message)
    assert "\n" not in text and "\t" not in text and "  " not in text
    assert text == f"{RLM}سطر أول · {RLM}سطر ثان هنا · {RLM}1 نعم"


QUICK = Templates(Template(OPENER), quick_replies={1: "HX" + "2" * 32, 2: "HX" + "3" * 32, 3: "HX" + "4" * 32})


def test_quick_replies_for_up_to_three_short_options():
    message = Outgoing("Is dat goed?", (Option("Ja, dat is goed", "yes"), Option("Nee", "no")), 4)
    sid, variables = render.quick_reply(message, QUICK)
    assert sid == "HX" + "3" * 32
    assert variables == {"1": "Is dat goed?", "2": "Ja, dat is goed", "3": "Nee", "5": "4:yes", "6": "4:no"}
    assert render.parse_choice(variables["5"]) == (4, "yes")


@pytest.mark.parametrize(
    "message",
    [
        Outgoing("Kies", tuple(Option(str(n), str(n)) for n in range(4))),  # four options
        Outgoing("Kies", (Option("Een label van meer dan twintig tekens", "a"),)),
        Outgoing("x" * 1025, (Option("Ja", "y"),)),
        Outgoing("Kies", (Option("Ja", "y"),), image=b"png"),
        Outgoing("Geen keuzes"),
    ],
)
def test_otherwise_a_numbered_list(message):
    assert render.quick_reply(message, QUICK) is None
    assert render.quick_reply(Outgoing("Kies", (Option("Ja", "y"),)), Templates(Template(OPENER))) is None


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code, kind, retry_after",
    [
        (429, 20429, "rate_limited", 1.0),
        (429, None, "rate_limited", 1.0),
        (400, 63018, "rate_limited", 10.0),
        (400, 21610, "blocked", 0.0),
        (400, 63014, "blocked", 0.0),
        (500, None, "transient", 0.0),
        (503, 20503, "transient", 0.0),
        (None, None, "transient", 0.0),
        (401, 20003, "transient", 0.0),
        (400, 21211, "rejected", 0.0),
        (422, 422, "rejected", 0.0),
    ],
)
def test_twilio_errors_map_onto_outbox_outcomes(status, code, kind, retry_after):
    error = errors.delivery_error(status, code)
    assert (error.kind, error.retry_after) == (kind, retry_after)
    assert not isinstance(error, errors.WindowClosed)


def test_a_closed_window_is_told_apart_for_the_channel_and_refused_should_it_reach_the_outbox():
    error = errors.delivery_error(400, 63016)
    assert isinstance(error, errors.WindowClosed)  # the channel re-routes it to a template
    assert (error.kind, error.code) == ("rejected", "63016")


# --- the templates file ------------------------------------------------------------------------


def test_the_example_file_is_valid():
    templates = load_templates(str(REPOSITORY / "whatsapp-templates.example.toml"))
    assert templates.opener.content_sid.startswith("HX")
    assert templates.for_message("reminder", "ar") is not None
    assert templates.for_message("reminder", "so") is None  # Somali: the opener path
    assert templates.opener.fill(text="", organisation="Meedoen") == {"1": "Meedoen"}


def test_a_template_refuses_a_text_that_does_not_fit():
    template = Template("HX" + "5" * 32, {"1": "{organisation}", "2": "{text}"}, max_text=10)
    assert template.fill(text="Kort", organisation="M") == {"1": "M", "2": "Kort"}
    assert template.fill(text="Veel te lang hier", organisation="M") is None


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({}, "has no [opener]"),
        ({"opener": {"content_sid": "HX12"}}, "is not a Content SID"),
        ({"opener": {"content_sid": OPENER, "variables": {"1": "{text}"}}}, "cannot use {text}"),
        ({"opener": {"content_sid": OPENER, "variables": {"1": "{name}"}}}, "may only use"),
        ({"opener": {"content_sid": OPENER, "variables": {"x": "a"}}}, "numbered keys"),
        ({"opener": {"content_sid": OPENER, "sid": "x"}}, "unknown keys"),
        ({"opener": {"content_sid": OPENER}, "reminder": {"de": {"content_sid": OPENER}}}, "is not a language"),
        ({"opener": {"content_sid": OPENER}, "Reminder!": {}}, "is not a kind of message"),
        ({"opener": {"content_sid": OPENER}, "reminder": {"nl": {"content_sid": OPENER, "max_text": 5000}}}, "max_text"),
        ({"opener": {"content_sid": OPENER}, "quick_replies": {"4": OPENER}}, "must be 1, 2 or 3"),
    ],
)
def test_a_wrong_templates_file_is_one_clear_sentence(raw, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_templates(raw)
    assert fragment in str(caught.value)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_an_unreadable_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_templates(str(tmp_path / "absent.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[opener\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_templates(str(bad))
    with pytest.raises(ConfigError, match="MEEDOEN_WHATSAPP_TEMPLATES is required"):
        load_templates(None)


# --- settings ------------------------------------------------------------------------------------


def load(**values):
    return load_settings(values, env_file=None)


def twilio_values(**extra):
    return {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_WHATSAPP_FROM": "+3197010203040", **extra}


def test_whatsapp_settings_are_parsed():
    settings = load(**twilio_values(MEEDOEN_WHATSAPP_RATE="20", MEEDOEN_WHATSAPP_TEMPLATES="/etc/t.toml"))
    assert settings.whatsapp_enabled
    assert settings.twilio_whatsapp_from == "whatsapp:+3197010203040"
    assert (settings.whatsapp_rate, settings.whatsapp_templates) == (20.0, "/etc/t.toml")
    assert load().whatsapp_rate == 80.0
    assert load(**twilio_values(TWILIO_WHATSAPP_FROM="whatsapp:+3197010203040")).twilio_whatsapp_from == (
        "whatsapp:+3197010203040"
    )


@pytest.mark.parametrize(
    "values, fragment",
    [
        (twilio_values(TWILIO_ACCOUNT_SID="AC123"), "AC followed by 32"),
        (twilio_values(TWILIO_WHATSAPP_FROM="0612345678"), "TWILIO_WHATSAPP_FROM must be"),
        (twilio_values(MEEDOEN_WHATSAPP_RATE="fast"), "MEEDOEN_WHATSAPP_RATE must be a positive number"),
    ],
)
def test_wrong_whatsapp_settings(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load(**values)


def test_run_checks_whatsapp_at_start(tmp_path):
    example = str(REPOSITORY / "whatsapp-templates.example.toml")
    base = twilio_values(MEEDOEN_SECRET_KEY="x" * 32)
    with pytest.raises(ConfigError, match="MEEDOEN_PUBLIC_URL is required for WhatsApp"):
        require_channels(load(**base, MEEDOEN_WHATSAPP_TEMPLATES=example))
    with pytest.raises(ConfigError, match="MEEDOEN_WHATSAPP_TEMPLATES is required"):
        require_channels(load(**base, MEEDOEN_PUBLIC_URL="https://bot.example.org"))
    require_channels(load(**base, MEEDOEN_PUBLIC_URL="https://bot.example.org", MEEDOEN_WHATSAPP_TEMPLATES=example))


def test_a_numeric_scale_is_shown_as_its_values_not_numbered():
    scale = Outgoing("How worthwhile?", tuple(Option(str(n), f"ck:w:{n}") for n in range(11)), 7)
    assert numbered.text(scale).endswith("\n\n0 · 1 · 2 · 3 · 4 · 5 · 6 · 7 · 8 · 9 · 10")
