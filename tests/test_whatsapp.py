"""End to end on WhatsApp: signed Twilio webhooks into the real HTTP app, the real twilio client
(``messages.create_async`` on ``AsyncTwilioHttpClient``) out through ``prism proxy`` (Twilio's own
OpenAPI description) to the recording fake, a real SQLite file and the real catalogs, with a
clock the test moves for WhatsApp's 24-hour window.

Every test ends (fixture ``twilio``) with no request refused by prism or by the fake's Twilio
rules, and no free-form message sent outside the window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select

from bot.app.service import Service
from bot.channels.base import Outgoing
from bot.channels.whatsapp import errors
from bot.config import ConfigError
from bot.delivery import outbox
from bot.store import series as series_store
from bot.store.schema import (
    conversations,
    inbound_updates,
    meetings,
    participants,
    processed_updates,
    signups,
    whatsapp_choices,
    whatsapp_messages,
)
from bot.store.schema import outbox as outbox_table
from dialogs import notices
from dialogs.formatting import LANGUAGE_NAMES
from dialogs.i18n import RLM, RTL_LANGUAGES, _, fill, isolate_runs, use_locale
from tests.conftest import NOW
from tests.test_store import rows_mentioning
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    BROADCAST_NL,
    BUTTONS,
    OPENER,
    REMINDER_AR,
    REMINDER_NL,
    SENDER,
    Man,
    clock,
    message_sid,
    running,
    sign,
    twilio,
    twilio_api,
    whatsapp_settings,
)

FIRST_MEETING = datetime(2026, 12, 3, 18, 0, tzinfo=ZoneInfo("UTC"))  # Thu 3 Dec, 19:00 local
ARABIC_MAN = "+31612340001"
SOMALI_MAN = "+31612340002"
DUTCH_MAN = "+31612340003"


async def add_series(db, capacity=12, name="Mannen in gesprek", location="Huis van de Wijk Osdorp"):
    new = series_store.NewSeries(name, 3, time(19, 0), date(2026, 12, 3), 6, capacity, location, "Osdorp")
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


def tr(language: str, message: str, **values) -> str:
    """``message`` in ``language`` as the dialog writes it (values and bare left-to-right runs
    such as /start isolated in Arabic)."""
    with use_locale(language):
        text = fill(_(message), **values) if values else _(message)
        return isolate_runs(text) if language in RTL_LANGUAGES else text


def listed(text: str, labels: list[str]) -> str:
    """What the man reads: the text and its choices as a numbered list."""
    rtl = text.startswith(RLM)
    lines = [f"{RLM if rtl else ''}{n} {label}" for n, label in enumerate(labels, 1)]
    return text + "\n\n" + "\n".join(lines)


def session(number: str, body: str, settings) -> dict[str, str]:
    """The exact form a free-form message is sent with."""
    return {
        "To": f"whatsapp:{number}",
        "From": SENDER,
        "Body": body,
        "StatusCallback": settings.public_url + "/whatsapp/status",
    }



# --- helpers -------------------------------------------------------------------------------------

MENU_ORDER = ("nl", "ar", "so", "en")  # a +31 number puts Dutch first


def session(number: str, body: str, settings) -> dict[str, str]:
    """The exact form of a free-form message."""
    return {
        "To": f"whatsapp:{number}",
        "From": SENDER,
        "Body": body,
        "StatusCallback": settings.public_url + "/whatsapp/status",
    }


def content(number: str, sid: str, variables: dict[str, str], settings) -> dict[str, str]:
    """The exact form of a template or quick-reply message."""
    return {
        "To": f"whatsapp:{number}",
        "From": SENDER,
        "ContentSid": sid,
        "ContentVariables": json.dumps(variables, ensure_ascii=False),
        "StatusCallback": settings.public_url + "/whatsapp/status",
    }


async def sign_up(man: Man, language: str, name: str = "Cabdi") -> None:
    """The whole sign-up by numbered answers: language, consent, name, series 1, area 2."""
    await man.say("Hallo")
    await man.say(str(MENU_ORDER.index(language) + 1))
    await man.say("1")
    await man.say(name)
    await man.say("1")
    await man.say("2")


async def first_meeting(db) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(select(meetings.c.id).where(meetings.c.number == 1))


async def queue_reminder(service: Service, man: Man, language: str, meeting_id: int) -> int:
    """A reminder as the scheduler queues it (bulk); returns the outbox row id."""
    reply = notices.reminder(
        language, meeting_id, "Mannen in gesprek", FIRST_MEETING, "Huis van de Wijk Osdorp", "Europe/Amsterdam"
    )
    return await queue(service, man, Outgoing(reply.text, reply.options, reply.question), kind="reminder")


async def queue(service: Service, man: Man, message: Outgoing, *, kind: str) -> int:
    async with service.db.transaction() as connection:
        await outbox.enqueue(
            connection,
            channel="whatsapp",
            address=man.number,
            message=message,
            kind=kind,
            priority=outbox.REPLY if kind == "reply" else outbox.BULK,
            now=service.now(),
        )
        row_id = await connection.scalar(select(func.max(outbox_table.c.id)))
    service.wake("whatsapp")
    return row_id


async def row_status(db, row_id: int) -> str | None:
    async with db.transaction() as connection:
        return await connection.scalar(select(outbox_table.c.status).where(outbox_table.c.id == row_id))


async def eventually(check, timeout: float = 10.0) -> None:
    """Wait until the async ``check()`` is true (the outbox records outcomes just after sending)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def count(db, table) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(select(func.count()).select_from(table))


def reminder_lines(language: str, meeting_time_text: str) -> tuple[str, list[str]]:
    """A reminder's text (as the man reads it: RLM first in Arabic) and its choices."""
    text = tr(
        language,
        "Reminder: %(series)s is on %(when)s at %(place)s. Will you come?",
        series="Mannen in gesprek",
        when=meeting_time_text,
        place="Huis van de Wijk Osdorp",
    )
    return (RLM if language == "ar" else "") + text, [tr(language, "I'm coming"), tr(language, "I can't this time")]


def babel_when(language: str) -> str:
    return format_datetime(FIRST_MEETING, "EEEE d MMMM HH:mm", tzinfo=ZoneInfo("Europe/Amsterdam"), locale=language)


@pytest.fixture
def config(settings, tmp_path, twilio_api):
    return whatsapp_settings(settings, tmp_path, twilio_api[1].url)


# --- sign-up by numbered answers -------------------------------------------------------------------


async def test_a_man_signs_up_in_arabic_by_numbered_answers(twilio, config, db, clock):
    series_id = await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, ARABIC_MAN)
        first = await man.say("السلام عليكم")  # Arabic script: answered in Arabic, not Dutch
        greeting = tr(
            "ar",
            "Hello! I'm the automated assistant of %(organisation)s. I can sign you up for our "
            "conversation groups for men.",
            organisation="Meedoen",
        )
        question = tr("ar", "Which language would you like me to use?")
        menu = [LANGUAGE_NAMES[code] for code in ("ar", "nl", "so", "en")]  # his first
        assert first.fields == session(ARABIC_MAN, listed(f"{RLM}{greeting}\n\n{RLM}{question}", menu), config)

        consent = await man.say("1")  # العربية
        yes, no = tr("ar", "Yes, that's okay"), tr("ar", "No, thank you")
        assert consent.body.startswith(RLM)
        assert consent.body.endswith(f"\n\n{RLM}1 {yes}\n{RLM}2 {no}")
        await man.say("١")  # yes, in Arabic-Indic digits
        await man.say("يوسف")
        assert "Mannen in gesprek" in man.text
        await man.say("1.")
        confirmation = await man.say("2)")  # the second area: Osdorp
    assert babel_when("ar") in confirmation.body
    assert all(m.body.startswith(RLM) for m in man.messages[1:])
    assert [m.fields["To"] for m in twilio.messages] == [f"whatsapp:{ARABIC_MAN}"] * 6
    async with db.transaction() as connection:
        row = (await connection.execute(select(participants))).one()
        status = await connection.scalar(select(signups.c.status).where(signups.c.series_id == series_id))
    assert (row.channel, row.address, row.language, row.name, row.area) == (
        "whatsapp", ARABIC_MAN, "ar", "يوسف", "Osdorp"
    )
    assert status == "confirmed"


async def test_a_man_signs_up_in_somali_by_numbered_answers(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        first = await man.say("Salaan, waxaan rabaa inaan ka qayb qaato")  # Somali words
        greeting = tr(
            "so",
            "Hello! I'm the automated assistant of %(organisation)s. I can sign you up "
            "for our conversation groups for men.",
            organisation="Meedoen",
        )
        question = tr("so", "Which language would you like me to use?")
        menu = [LANGUAGE_NAMES[code] for code in ("so", "nl", "ar", "en")]  # Somali first, not Dutch
        assert first.fields == session(SOMALI_MAN, listed(f"{greeting}\n\n{question}", menu), config)
        consent = await man.say("1")  # Soomaali
        question = tr(
            "so",
            "Before we start: to sign you up, I keep your phone number or Telegram name and your "
            "language, and if "
            "you want, a first name and your area. Only the coordinators of %(organisation)s see "
            "this. It is never shared with anyone else. You can erase it all at any time with "
            "/delete. Is that okay?",
            organisation="Meedoen",
        )
        assert consent.fields == session(
            SOMALI_MAN, listed(question, [tr("so", "Yes, that's okay"), tr("so", "No, thank you")]), config
        )
        named = await man.say("haa")  # the first word of "Haa, waa hagaag"
        assert tr("so", "What may we call you? Write a first name or a nickname, or press Skip.") in named.body
        series = await man.say("Cabdi")
        assert "Khamiis" in series.body  # Thursday, by Babel, in Somali
        area = await man.say("1")
        assert area.body.endswith(f"{len(config.areas) + 1} {tr('so', 'I' + chr(39) + 'd rather not say')}")
        confirmation = await man.say(str(len(config.areas) + 1))  # rather not say
    assert babel_when("so").startswith("Khamiis 3 Diseembar 19:00")
    assert babel_when("so") in confirmation.body
    async with db.transaction() as connection:
        row = (await connection.execute(select(participants))).one()
    assert (row.language, row.name, row.area, row.status) == ("so", "Cabdi", None, "active")


async def test_a_typed_number_answers_the_choices_he_saw_last(twilio, config, db, clock):
    """After a reminder, "1" answers the reminder (its standing buttons), not the
    conversation's own last question."""
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        await queue_reminder(service, man, "nl", await first_meeting(db))
        await twilio.wait_for_messages(DUTCH_MAN, 7)
        answer = await man.say("1")
    assert answer.body == tr("nl", "Great, see you on %(when)s!", when=babel_when("nl"))


async def test_a_number_typed_the_instant_a_list_arrives_answers_that_list(twilio, config, db, clock):
    """What he is shown is stored before the request that shows it: his "1", typed and handled
    the instant the consent question reached WhatsApp (before Twilio has even answered),
    says yes to it, on whichever instance it lands. Stored after the request, the "1" was
    read against the list before (the languages): a stale answer, and the question again."""
    yes, no = tr("nl", "Yes, that's okay"), tr("nl", "No, thank you")
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        loop = asyncio.get_running_loop()
        answered: list[httpx.Response] = []

        def answers_at_once(message) -> None:  # in the fake's thread, before Twilio's 201
            if not answered and (message.body or "").endswith(f"\n\n1 {yes}\n2 {no}"):
                typed = man.send(man.fields(Body="1"))  # yes
                answered.append(asyncio.run_coroutine_threadsafe(typed, loop).result(timeout=30))

        twilio.on_message = answers_at_once
        await man.say("Hallo")
        await man.say("1")  # Nederlands
        [*_, name_question] = await twilio.wait_for_messages(DUTCH_MAN, 3)
    assert [response.status_code for response in answered] == [200]
    assert name_question.body.startswith(tr("nl", "Thank you!"))
    assert tr("nl", "What may we call you? Write a first name or a nickname, or press Skip.") in name_question.body


# --- signatures and replays ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "wrong token", "body changed", "other url", "garbage"],
)
async def test_an_unsigned_or_tampered_webhook_is_refused_and_changes_nothing(twilio, config, db, clock, tamper):
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        fields = man.fields(Body="Hallo")
        url = config.public_url + "/whatsapp"
        signature = {
            "no signature": "",
            "wrong token": sign(url, fields, token="0" * 32),
            "body changed": sign(url, {**fields, "Body": "Hoi"}),
            "other url": sign("https://example.org/whatsapp", fields),
            "garbage": "not-a-signature",
        }[tamper]
        response = await man.send(fields, signature=signature)
        status = await post_status_unsigned(config, man)
    assert response.status_code == 403
    assert status == 403
    for table in (participants, conversations, processed_updates, outbox_table, whatsapp_messages):
        assert await count(db, table) == 0, table.name
    assert twilio.messages == []


async def post_status_unsigned(config, man: Man) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            config.public_url + "/whatsapp/status",
            data={"MessageSid": message_sid(), "MessageStatus": "failed", "ErrorCode": "21610", "To": f"whatsapp:{man.number}"},
            headers={"X-Twilio-Signature": "forged"},
        )
    return response.status_code


async def test_a_replayed_message_sid_is_handled_once(twilio, config, db, clock):
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        fields = man.fields(Body="Hallo")
        first = await man.send(fields)
        await twilio.wait_for_messages(DUTCH_MAN, 1)
        for _ in range(3):  # Twilio retries, or someone replays the captured request
            again = await man.send(fields)
            assert again.status_code == 200
        await asyncio.sleep(0.3)  # give a wrongly handled replay time to show up
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in first.text
    assert len(man.messages) == 1
    assert await count(db, processed_updates) == 1


# --- the 24-hour window -------------------------------------------------------------------------


async def test_a_reminder_23_hours_after_his_last_message_goes_free_form(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        clock.advance(hours=23)
        row = await queue_reminder(service, man, "nl", await first_meeting(db))
        [*_, reminder] = await twilio.wait_for_messages(DUTCH_MAN, 7)
        await eventually(lambda: _is(db, row, "sent"))
    text, labels = reminder_lines("nl", babel_when("nl"))
    assert reminder.fields == session(DUTCH_MAN, listed(text, labels), config)


async def test_a_reminder_25_hours_after_goes_as_the_approved_template(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, ARABIC_MAN)
        await sign_up(man, "ar", name="يوسف")
        clock.advance(hours=25)
        await queue_reminder(service, man, "ar", await first_meeting(db))
        [*_, reminder] = await twilio.wait_for_messages(ARABIC_MAN, 7)
        # He answers the template with a number: it means the reminder's first choice.
        answer = await man.say("1")
    text, labels = reminder_lines("ar", babel_when("ar"))
    one_line = " · ".join([text, f"{RLM}1 {labels[0]}", f"{RLM}2 {labels[1]}"])
    assert reminder.fields == content(ARABIC_MAN, REMINDER_AR, {"1": one_line}, config)
    assert "\n" not in one_line
    assert answer.body == RLM + tr("ar", "Great, see you on %(when)s!", when=babel_when("ar"))


async def test_a_somali_speaker_gets_the_opener_then_the_somali_text_after_his_reply(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        await sign_up(man, "so")
        clock.advance(hours=25)
        meeting = await first_meeting(db)
        row = await queue_reminder(service, man, "so", meeting)
        [*_, opener] = await twilio.wait_for_messages(SOMALI_MAN, 7)
        assert opener.fields == content(SOMALI_MAN, OPENER, {"1": "Meedoen"}, config)
        await eventually(lambda: _is(db, row, "held"))

        # A second message for him meanwhile: held too, without a second opener.
        second = await queue(service, man, Outgoing("Fariin labaad"), kind="broadcast")
        await eventually(lambda: _is(db, second, "held"))
        assert len(man.messages) == 7

        clock.advance(minutes=30)
        await man.tap("show", "Show message", replied_to=opener.sid, replies=2)
        await eventually(lambda: _is(db, row, "sent"))
    text, labels = reminder_lines("so", babel_when("so"))
    assert [m.fields for m in man.messages[7:]] == [
        session(SOMALI_MAN, listed(text, labels), config),
        session(SOMALI_MAN, "Fariin labaad", config),
    ]
    assert await row_status(db, second) == "sent"
    async with db.transaction() as connection:  # the tap on the opener was handled: not kept
        assert await connection.scalar(select(func.count()).select_from(inbound_updates)) == 0


async def test_the_list_of_a_held_message_is_not_what_he_saw_until_it_goes_out(twilio, config, db, clock):
    """A list is stored before the request that shows it, and put back as it was when WhatsApp
    holds the message for his window: meanwhile a number he types answers what he saw."""
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        await sign_up(man, "so")
        before = await _shown(db, SOMALI_MAN)
        clock.advance(hours=25)
        row = await queue_reminder(service, man, "so", await first_meeting(db))
        [*_, opener] = await twilio.wait_for_messages(SOMALI_MAN, 7)
        await eventually(lambda: _is(db, row, "held"))
        held = await _shown(db, SOMALI_MAN)
        clock.advance(minutes=30)
        await man.tap("show", "Show message", replied_to=opener.sid)
        await eventually(lambda: _is(db, row, "sent"))
        sent = await _shown(db, SOMALI_MAN)
    _, labels = reminder_lines("so", babel_when("so"))
    assert before is not None and held == before
    assert [label for label, _key in json.loads(sent.options)] == labels


async def _shown(db, address: str):
    async with db.transaction() as connection:
        return (await connection.execute(
            select(whatsapp_choices.c.question, whatsapp_choices.c.options).where(whatsapp_choices.c.address == address)
        )).first()


async def _is(db, row_id: int, status: str) -> bool:
    return await row_status(db, row_id) == status


async def test_a_man_who_never_answers_the_opener_gets_one_a_day_and_the_message_expires(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        await sign_up(man, "so")
        clock.advance(hours=25)
        first = await queue(service, man, Outgoing("Fariin"), kind="broadcast")
        await eventually(lambda: _is(db, first, "held"))
        clock.advance(hours=25)
        second = await queue(service, man, Outgoing("Fariin kale"), kind="broadcast")
        await eventually(lambda: _is(db, second, "held"))
        clock.advance(days=8)
        await service.channels["whatsapp"].start()  # housekeeping runs at start
    openers = [m for m in man.messages if m.content_sid == OPENER]
    assert len(openers) == 2
    assert await row_status(db, first) == "expired"
    assert await row_status(db, second) == "expired"


# --- status callbacks and errors -----------------------------------------------------------------


async def test_delivered_and_read_update_the_outbox_and_never_go_back(twilio, config, db, clock):
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await man.say("Hallo")
        row = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        [*_, news] = await twilio.wait_for_messages(DUTCH_MAN, 2)
        await eventually(lambda: _is(db, row, "sent"))
        for status, expected in (("sent", "sent"), ("delivered", "delivered"), ("read", "read"), ("delivered", "read")):
            assert (await man.status(news, status)).status_code == 200
            assert await row_status(db, row) == expected


async def test_a_sending_callback_after_the_outbox_recorded_sent_leaves_it_sent(twilio, config, db, clock):
    """Twilio's "sending" (or "queued", "accepted") says less than our own "sent": an outbox
    row left "sending" would count as waiting for ever, and as uncertain after a restart."""
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await man.say("Hallo")
        row = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        [*_, news] = await twilio.wait_for_messages(DUTCH_MAN, 2)
        await eventually(lambda: _is(db, row, "sent"))
        for status, expected in (("sending", "sent"), ("sent", "sent"), ("delivered", "delivered")):
            assert (await man.status(news, status)).status_code == 200
            assert await row_status(db, row) == expected


async def test_status_21610_stops_him(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        row = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        [*_, news] = await twilio.wait_for_messages(DUTCH_MAN, 7)
        await eventually(lambda: _is(db, row, "sent"))
        async with db.transaction() as connection:  # queued for later: must not go out
            await outbox.enqueue(
                connection, channel="whatsapp", address=DUTCH_MAN, message=Outgoing("Later"),
                kind="broadcast", priority=outbox.BULK, now=clock(), not_before=clock.now.replace(year=2027),
            )
        await man.status(news, "undelivered", 21610)
    async with db.transaction() as connection:
        status = await connection.scalar(select(participants.c.status))
        states = sorted((await connection.scalars(select(outbox_table.c.status))).all())
    assert status == "stopped"
    assert states == ["blocked", "skipped"]


async def test_status_63016_sends_the_message_again_as_a_template(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        clock.advance(hours=20)
        row = await queue_reminder(service, man, "nl", await first_meeting(db))
        [*_, free_form] = await twilio.wait_for_messages(DUTCH_MAN, 7)
        await eventually(lambda: _is(db, row, "sent"))
        assert free_form.body is not None
        await man.status(free_form, "undelivered", 63016)  # WhatsApp saw the window closed
        [*_, template] = await twilio.wait_for_messages(DUTCH_MAN, 8)
        await eventually(lambda: _is(db, row, "sent"))
    text, labels = reminder_lines("nl", babel_when("nl"))
    one_line = " · ".join([text, f"1 {labels[0]}", f"2 {labels[1]}"])
    assert template.fields == content(DUTCH_MAN, REMINDER_NL, {"1": one_line}, config)


async def test_status_63018_slows_the_channel_down_and_retries(twilio, config, db, clock, monkeypatch):
    monkeypatch.setitem(errors.RATE_PAUSE, 63018, 0.5)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await man.say("Hallo")
        row = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        [*_, news] = await twilio.wait_for_messages(DUTCH_MAN, 2)
        await eventually(lambda: _is(db, row, "sent"))
        await man.status(news, "failed", 63018)
        channel = service.channels["whatsapp"]
        assert channel.paused_for() > 0
        assert await row_status(db, row) == "pending"
        clock.advance(seconds=1)
        service.wake("whatsapp")
        [*_, again] = await twilio.wait_for_messages(DUTCH_MAN, 3)
    assert again.fields == news.fields


async def test_an_immediate_63016_is_re_routed_at_once(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        clock.advance(hours=20)
        twilio.fail(DUTCH_MAN, 63016)
        row = await queue_reminder(service, man, "nl", await first_meeting(db))
        [*_, template] = await twilio.wait_for_messages(DUTCH_MAN, 7)
        await eventually(lambda: _is(db, row, "sent"))
        # The window counts as closed from now on: the next message goes as a template too.
        later = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        [*_, broadcast] = await twilio.wait_for_messages(DUTCH_MAN, 8)
        await eventually(lambda: _is(db, later, "sent"))
    assert template.content_sid == REMINDER_NL
    assert broadcast.fields == content(DUTCH_MAN, BROADCAST_NL, {"1": "Meedoen", "2": "Nieuws"}, config)


async def test_a_429_pauses_and_the_message_still_goes_out(twilio, config, db, clock):
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        twilio.fail(DUTCH_MAN, 20429, status=429)
        first = await man.say("Hallo")
    assert first.body.startswith(tr("nl", "Hello! I'm the automated assistant of %(organisation)s. I can sign you up for our conversation groups for men.", organisation="Meedoen"))
    assert len(man.messages) == 1


async def test_an_immediate_21610_stops_him(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        twilio.fail(DUTCH_MAN, 21610)
        row = await queue(service, man, Outgoing("Nieuws"), kind="broadcast")
        await eventually(lambda: _is(db, row, "blocked"))
    async with db.transaction() as connection:
        assert await connection.scalar(select(participants.c.status)) == "stopped"


# --- keywords ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, stop, start, help_",
    [("nl", "STOP", "Start", "hulp"), ("ar", "توقّف", "ابدأ", "مساعدة"), ("so", "Jooji!", "bilow", "Caawin"), ("en", "stop", "START", "Help")],
)
async def test_stop_start_and_help_work_in_every_language(twilio, config, db, clock, language, stop, start, help_):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, language)
        stopped = await man.say(stop)
        async with db.transaction() as connection:
            assert await connection.scalar(select(participants.c.status)) == "stopped"
        helped = await man.say(help_)
        started = await man.say(start)
        async with db.transaction() as connection:
            assert await connection.scalar(select(participants.c.status)) == "active"
    assert tr(language, "Okay, I won't send you any more messages. Send /start whenever you want to hear from me again.") in stopped.body
    assert tr(language, "/stop – pause all messages") in helped.body
    assert tr(language, "Welcome back! You will get messages from me again.") in started.body


# --- quick replies, long texts, images ----------------------------------------------------------------


async def test_quick_reply_buttons_when_configured(twilio, settings, tmp_path, twilio_api, db, clock):
    config = whatsapp_settings(settings, tmp_path, twilio_api[1].url, quick_replies=True)
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        menu = await man.say("Salaan")  # Somali: his language is offered first
        assert menu.body is not None  # four languages: a numbered list
        consent = await man.say("1")
        yes, no = tr("so", "Yes, that's okay"), tr("so", "No, thank you")
        variables = consent.variables
        assert consent.content_sid == BUTTONS[2]
        assert (variables["2"], variables["3"]) == (yes, no)
        assert variables["5"].endswith(":yes") and variables["6"].endswith(":no")
        assert consent.fields == content(SOMALI_MAN, BUTTONS[2], variables, config)
        named = await man.tap(variables["5"], yes, replied_to=consent.sid)
    assert tr("so", "What may we call you? Write a first name or a nickname, or press Skip.") in (
        named.variables.get("1") or named.body
    )
    async with db.transaction() as connection:
        assert (await connection.execute(select(participants.c.language))).scalar() == "so"


async def test_a_long_text_is_split_politely_within_twilios_limit(twilio, config, db, clock):
    paragraph = "Dit is een lange zin over de bijeenkomst van donderdag. " * 20
    text = "\n\n".join([paragraph.strip()] * 3)  # about 3,400 characters
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await man.say("Hallo")
        await queue(service, man, Outgoing(text), kind="broadcast")
        parts = (await twilio.wait_for_messages(DUTCH_MAN, 4))[1:]
    assert [len(part.body) <= 1600 for part in parts] == [True] * 3
    assert [part.body for part in parts] == [paragraph.strip()] * 3


async def test_an_image_is_sent_by_a_short_lived_url(twilio, config, db, clock):
    """Straight to the fake, not through prism: prism 5 cannot read a repeated form key
    (``MediaUrl``) as the array the spec declares and refuses a valid request with 422
    (stoplightio/prism#2473, fix proposed in #2654). The fake still checks the request."""
    config = dataclasses.replace(config, twilio_api_base_url=twilio.url)
    image = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await man.say("Hallo")
        await queue(service, man, Outgoing("Het verslag", image=image), kind="reply")
        picture, caption = (await twilio.wait_for_messages(DUTCH_MAN, 3))[1:]
        async with httpx.AsyncClient() as client:
            fetched = await client.get(picture.media_urls[0])
            missing = await client.get(config.public_url + "/whatsapp/media/unknown.png")
    assert picture.body is None and picture.media_urls[0].startswith(config.public_url + "/whatsapp/media/")
    assert (fetched.status_code, fetched.content, fetched.headers["content-type"]) == (200, image, "image/png")
    assert missing.status_code == 404
    assert caption.body == "Het verslag"


# --- privacy and configuration ------------------------------------------------------------------------


async def test_delete_erases_everything_the_channel_kept(twilio, config, db, clock):
    await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl", name="Cabdi")
        row = await queue_reminder(service, man, "nl", await first_meeting(db))
        await eventually(lambda: _is(db, row, "sent"))
        assert await count(db, whatsapp_messages) == 1 and await count(db, whatsapp_choices) == 1
        await man.say("verwijder")
        done = await man.say("1")
        assert tr("nl", "Everything is erased. Thank you for taking part. You are always welcome back: just send /start.") in done.body

        async def nothing_left() -> bool:
            return await rows_mentioning(db, [DUTCH_MAN, "Cabdi"]) == []

        await eventually(nothing_left)
    assert await count(db, whatsapp_messages) == 0
    assert await count(db, whatsapp_choices) == 0


def test_a_missing_or_broken_templates_file_stops_the_start(settings, tmp_path):
    base = whatsapp_settings(settings, tmp_path, "http://127.0.0.1:9")
    broken = tmp_path / "broken.toml"
    broken.write_text('[opener]\ncontent_sid = "HX123"\n')
    for changes, fragment in (
        ({"whatsapp_templates": None}, "MEEDOEN_WHATSAPP_TEMPLATES is required"),
        ({"whatsapp_templates": str(tmp_path / "absent.toml")}, "cannot read"),
        ({"whatsapp_templates": str(broken)}, "is not a Content SID"),
        ({"public_url": None}, "MEEDOEN_PUBLIC_URL is required for WhatsApp"),
    ):
        with pytest.raises(ConfigError, match=fragment):
            Service(dataclasses.replace(base, **changes))


async def test_prism_refuses_what_twilios_spec_forbids(twilio_api):
    """The proof that the checks above mean something: a request that breaks Twilio's spec
    is answered 422 by prism and never reaches the recorder."""
    from twilio.base.exceptions import TwilioRestException
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    from tests.whatsapp_chat import ACCOUNT_SID, AUTH_TOKEN

    fake, prism = twilio_api
    fake.reset()
    before = len(prism.rejections())
    http = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    client.api.base_url = prism.url
    try:
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(to="whatsapp:+31612345678", from_=SENDER, content_sid="HX1234")
        accepted = await client.messages.create_async(to="whatsapp:+31612345678", from_=SENDER, content_sid=OPENER, content_variables='{"1": "Meedoen"}')
    finally:
        await http.close()
    assert caught.value.status == 422
    assert errors.delivery_error(caught.value.status, caught.value.code).kind == "rejected"
    assert len(prism.rejections()) == before + 1
    assert [m.sid for m in fake.messages] == [accepted.sid]
    fake.reset()
