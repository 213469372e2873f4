""""Add to my calendar" end to end: the .ics reaches the man as a Telegram document (sendDocument
checked against the Bot API spec by the stand-in), and after a cancelled meeting he is offered
a newer file; on WhatsApp it is a media file Twilio fetches from a short-lived URL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import httpx
from icalendar import Calendar
from sqlalchemy import select

from bot.domain import meeting_changes
from bot.store.schema import meetings
from dialogs.i18n import _, use_locale
from tests.fakes.telegram_api import UploadedFile
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_calendar_file import occurrences
from tests.test_telegram_signup import add_series, sign_up, tg  # noqa: F401 - the fixture
from tests.test_whatsapp import DUTCH_MAN, config  # noqa: F401 - fixture
from tests.test_whatsapp import sign_up as whatsapp_sign_up
from tests.whatsapp_chat import Man, clock, twilio, twilio_api  # noqa: F401 - fixtures
from tests.whatsapp_chat import running as whatsapp_running


def documents(tg, chat_id: int) -> list[UploadedFile]:
    return [
        call.params["document"]
        for call in tg.calls
        if call.method == "sendDocument" and str(call.params.get("chat_id")) == str(chat_id)
    ]


def captions(tg, chat_id: int) -> list[str]:
    return [m.get("caption", "") for m in tg.messages_to(chat_id) if "document" in m]


async def held_meetings(db, series_id: int) -> list[datetime]:
    async with db.transaction() as connection:
        rows = await connection.execute(
            select(meetings.c.starts_at).where(meetings.c.series_id == series_id, meetings.c.status == "scheduled")
        )
        return sorted(row.starts_at for row in rows)


async def test_the_calendar_file_after_signing_up_and_a_newer_one_after_a_cancellation(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)) as service:
        chat = Chat(tg, 5301, language_code="so")
        await sign_up(chat, "so", "Cabdi", f"s:{series_id}", "a:1")
        with use_locale("so"):
            add_label = _("Add to my calendar")
        assert "menu:cal" in chat.keys()  # the menu under the confirmation offers it
        assert add_label in chat.labels()
        before = tg.count_to(5301)
        await chat.tap("menu:cal")
        await tg.wait_for(lambda: tg.count_to(5301) == before + 2, timeout=10)  # the file, then the menu
        assert "document" in tg.messages_to(5301)[-2] and "menu:cal" in chat.keys()
        (first,) = documents(tg, 5301)
        assert first.filename == "mannen-in-gespre.ics"
        calendar = Calendar.from_ical(first.data)
        (event,) = calendar.walk("VEVENT")
        assert occurrences(first.data) == await held_meetings(db, series_id)
        assert int(event["SEQUENCE"]) == 0
        assert str(event["LOCATION"]) == "Huis van de Wijk Osdorp"
        assert "Khamiis" in str(event["DESCRIPTION"])  # his language: Thursday in Somali
        assert "Mannen in gesprek" in captions(tg, 5301)[0]

        # /mysignups: his groups, and the menu with the calendar file again
        await chat.command("/mysignups")
        assert "menu:cal" in chat.keys()

        # The coordinator cancels the second meeting: the notice offers the newer file.
        async with service.db.transaction() as connection:
            await meeting_changes.cancel(
                connection, service.settings, series_id, date(2026, 12, 10), None, counts=False,
                now=datetime.now(tz=UTC),
            )
        before = tg.count_to(5301)
        service.wake_all()
        await tg.wait_for(lambda: tg.count_to(5301) == before + 1)
        assert chat.keys() == [f"cal:{series_id}"]
        assert chat.labels() == [add_label]
        await chat.tap(f"cal:{series_id}")
        await tg.wait_for(lambda: len(documents(tg, 5301)) == 2, timeout=10)
    second = documents(tg, 5301)[1]
    assert occurrences(second.data) == await held_meetings(db, series_id)
    (master,) = Calendar.from_ical(second.data).walk("VEVENT")
    assert str(master["UID"]) == str(event["UID"])  # the same entry, updated
    assert int(master["SEQUENCE"]) == 1  # and newer
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=7"  # one meeting added at the end
    assert [d.dt.date() for d in master["EXDATE"].dts] == [date(2026, 12, 10)]


async def test_a_moved_meeting_raises_the_sequence_and_overrides_its_date(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)) as service:
        chat = Chat(tg, 5302, language_code="nl")
        await sign_up(chat, "nl", "Karim", f"s:{series_id}", "a:1")
        async with service.db.transaction() as connection:
            moved_to = datetime(2026, 12, 18, 18, 30, tzinfo=UTC)  # Friday 19:30
            await meeting_changes.move(
                connection, service.settings, series_id, date(2026, 12, 17), moved_to,
                now=datetime.now(tz=UTC),
            )
            await meeting_changes.move(
                connection, service.settings, series_id, date(2026, 12, 18), moved_to + timedelta(hours=1),
                now=datetime.now(tz=UTC),
            )
        service.wake_all()
        await tg.wait_for(lambda: sum(f"cal:{series_id}" in chat.keys(m) for m in chat.messages) == 2)
        await chat.tap(f"cal:{series_id}")
        await tg.wait_for(lambda: len(documents(tg, 5302)) == 1, timeout=10)
    (document,) = documents(tg, 5302)
    assert occurrences(document.data) == await held_meetings(db, series_id)
    events = Calendar.from_ical(document.data).walk("VEVENT")
    assert {int(e["SEQUENCE"]) for e in events} == {2}  # two changes
    (override,) = [e for e in events if "RECURRENCE-ID" in e]
    assert override.decoded("RECURRENCE-ID").date() == date(2026, 12, 17)
    assert override.decoded("DTSTART") == moved_to + timedelta(hours=1)


async def test_on_whatsapp_the_file_is_a_media_file_behind_a_short_lived_url(twilio, config, db, clock):
    """Straight to the fake Twilio, not through prism, for the reason in test_whatsapp's image
    test (prism 5 cannot read a repeated ``MediaUrl``); the fake still checks the request."""
    config = dataclasses.replace(config, twilio_api_base_url=twilio.url)
    series_id = await add_series(db)
    async with whatsapp_running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await whatsapp_sign_up(man, "nl")
        menu = man.last.body
        with use_locale("nl"):
            number = next(line.split()[0] for line in menu.splitlines() if _("Add to my calendar") in line)
        await man.say(number, replies=3)  # the file, its caption, the menu
        file, caption = man.messages[-3:-1]
        async with httpx.AsyncClient() as client:
            fetched = await client.get(file.media_urls[0])
            guessed = await client.get(config.public_url + "/whatsapp/media/" + "A" * 32 + ".ics")
    assert file.body is None and file.media_urls[0].startswith(config.public_url + "/whatsapp/media/")
    assert file.media_urls[0].endswith(".ics")
    assert fetched.status_code == 200 and fetched.headers["content-type"].startswith("text/calendar")
    assert 'filename="mannen-in-gespre.ics"' in fetched.headers["content-disposition"]
    assert occurrences(fetched.content) == await held_meetings(db, series_id)
    assert guessed.status_code == 404
    assert "Mannen in gesprek" in caption.body
