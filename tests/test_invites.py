"""Invite links, sources counted (never stored per man), "Invite a friend" (issue 16).

End to end on Telegram (the Bot API stand-in) and WhatsApp (signed webhooks, replies through
prism), with a real SQLite file and the real catalogs."""

from __future__ import annotations

import hashlib
import re
from datetime import date, time, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from sqlalchemy import select, text

from bot.domain import invites
from bot.store import series as series_store
from bot.store.schema import attendance, conversations, invite_counts, invite_markers, meetings, participants
from dialogs import notices
from dialogs.i18n import _, use_locale
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_store import rows_mentioning
from tests.whatsapp_chat import Man, clock, twilio, twilio_api, whatsapp_settings  # noqa: F401 - fixtures
from tests.whatsapp_chat import running as running_whatsapp

SECRET = b"test-secret-key-0123456789"
SOURCE = "flyer-moskee-osdorp"


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def add_series(db, name: str) -> int:
    new = series_store.NewSeries(name, 3, time(19, 0), date(2026, 12, 3), 6, 12, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def counted(db, series_id: int) -> dict[str, tuple[int, int]]:
    async with db.transaction() as connection:
        return {source: (n, came) for source, n, came in await invites.counts(connection, series_id)}


def tr(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


# --- codes ------------------------------------------------------------------------------------


def test_a_code_fits_telegram_and_names_its_series_and_source():
    code = invites.code(SECRET, 123456789, "a" * invites.SOURCE_MAX)
    assert len(code) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", code)
    assert invites.read(SECRET, f"/start {code}") == invites.Invite(123456789, "a" * invites.SOURCE_MAX)
    assert invites.read(SECRET, invites.code(SECRET, 7)) == invites.Invite(7, "")
    assert invites.read(SECRET, invites.prefilled_text(invites.code(SECRET, 7, SOURCE), "ar")) == invites.Invite(7, SOURCE)


def test_a_forged_or_altered_code_is_no_invite():
    code = invites.code(SECRET, 3, SOURCE)
    tag = code.rsplit("_", 1)[1]
    assert invites.read(SECRET, code.replace("s3_", "s4_")) is None  # another series, same tag
    assert invites.read(SECRET, code.replace(SOURCE, "buurthuis")) is None  # another source
    assert invites.read(b"another-key", code) is None
    assert invites.read(SECRET, f"s3__{tag}") is None
    assert invites.read(SECRET, "s3_x_000000000000") is None
    assert invites.read(SECRET, "hello") is None


@pytest.mark.parametrize("name", ["Flyer Moskee", "a_b", "x" * 41, "-lead", "moskée"])
def test_a_source_holds_letters_digits_and_hyphens(name):
    with pytest.raises(invites.InvalidSource):
        invites.check_source(name)


def test_links_for_telegram_and_whatsapp_carry_the_code_and_the_text_in_his_language(settings):
    import dataclasses

    config = dataclasses.replace(settings, twilio_whatsapp_from="whatsapp:+31201234567")
    links = invites.links(config, "meedoen_bot", 3, SOURCE, "so")
    assert links.telegram == f"https://t.me/meedoen_bot?start={links.code}"
    url = urlparse(links.whatsapp)
    assert (url.netloc, url.path) == ("wa.me", "/31201234567")
    prefilled = parse_qs(url.query)["text"][0]
    assert links.code in prefilled
    assert prefilled.startswith(tr("so", "Hello! I would like to join the conversation group. Code: %(code)s").split("%")[0])


# --- Telegram: /start CODE ----------------------------------------------------------------


async def test_a_deep_link_offers_its_series_first_and_counts_the_source(tg, settings, db):
    other = await add_series(db, "Vaders en zonen")
    invited = await add_series(db, "Mannen in gesprek")
    code = invites.code(SECRET, invited, SOURCE)
    async with running(telegram_settings(settings, tg)) as service:
        async with service.db.transaction() as connection:  # the service cached getMe's answer
            assert await invites.cached_username(connection) == "meedoen_test_bot"
        chat = Chat(tg, 7001, language_code="nl")
        greeting = await chat.command(f"/start {code}")
        with use_locale("nl"):
            assert _("You were invited to %(series)s. Welcome!") % {"series": "Mannen in gesprek"} in greeting["text"]
        assert chat.keys()[0] == "lang:nl"  # language and consent as usual
        await chat.tap("lang:nl")
        await chat.tap("yes")
        await chat.tap("skip")
        assert chat.keys() == [f"s:{invited}", f"s:{other}"]  # his series first
        await chat.tap(f"s:{invited}")
        await chat.tap("a:1")
    assert await counted(db, invited) == {SOURCE: (1, 0)}
    assert await counted(db, other) == {}
    # Nothing that names him holds the source: only the counts and the keyed marker.
    found = await rows_mentioning(db, [SOURCE])
    assert sorted(table for table, _row in found) == ["invite_counts", "invite_markers"]


async def test_a_forged_code_is_an_ordinary_start(tg, settings, db):
    series_id = await add_series(db, "Mannen in gesprek")
    forged = invites.code(b"not-our-key", series_id, SOURCE)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 7002, language_code="en")
        greeting = await chat.command(f"/start {forged}")
        assert "invited" not in greeting["text"]
        assert chat.keys()[0] == "lang:en"
        await chat.tap("lang:en")
        await chat.tap("yes")
        await chat.tap("skip")
        await chat.tap(f"s:{series_id}")
        await chat.tap("a:1")
    assert await counted(db, series_id) == {}


async def test_invite_a_friend_gives_a_forwardable_link_whose_sign_ups_count_as_friend(tg, settings, db):
    series_id = await add_series(db, "Mannen in gesprek")
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 7003, language_code="so")
        await chat.command("/start")
        await chat.tap("lang:so")
        await chat.tap("yes")
        await chat.tap("skip")
        await chat.tap(f"s:{series_id}")
        await chat.tap("a:1")
        assert chat.keys()[-1] == "menu:friend"
        assert chat.labels()[-1] == tr("so", "Invite a friend")
        before = len(chat.messages)
        await chat.tap("menu:friend")
        await tg.wait_for(lambda: len(chat.messages) >= before + 3)  # how, the invitation, the menu
        how, invitation = chat.messages[before]["text"], chat.messages[before + 1]["text"]
        assert "https://t.me/share/url?" in how
        link = re.search(r"https://t\.me/meedoen_test_bot\?start=(\S+)", invitation)
        assert link is not None
        assert invites.read(SECRET, link[1]) == invites.Invite(series_id, invites.FRIEND)
        friend = Chat(tg, 7004, language_code="so")
        await friend.command(f"/start {link[1]}")
        await friend.tap("lang:so")
        await friend.tap("yes")
        await friend.tap("skip")
        assert friend.keys()[0] == f"s:{series_id}"
        await friend.tap(f"s:{series_id}")
        await friend.tap("a:1")
    assert await counted(db, series_id) == {invites.FRIEND: (1, 0)}


def test_the_reminder_before_the_second_meeting_has_invite_a_friend():
    second = notices.reminder("ar", 9, "Mannen", NOW, "Huis", "Europe/Amsterdam", friend_series=4)
    other = notices.reminder("ar", 8, "Mannen", NOW, "Huis", "Europe/Amsterdam")
    assert [o.key for o in second.options] == ["r:9:y", "r:9:n", "friend:4"]
    assert second.options[-1].label == tr("ar", "Invite a friend")
    assert "friend:" not in " ".join(o.key for o in other.options)


# --- counting: came to a meeting, and what an attacker without the key can see -----------------


async def _sign_up_through(db, settings, address: str, series_id: int, source: str) -> int:
    async with db.transaction() as connection:
        pid = (
            await connection.execute(
                participants.insert().values(
                    channel="telegram", address=address, language="nl", consented_at=NOW, status="active"
                )
            )
        ).inserted_primary_key[0]
        await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
        await invites.count_signup(connection, SECRET, "telegram", address, invites.Invite(series_id, source))
    return pid


async def test_came_to_a_meeting_is_counted_once_and_the_marker_goes(db, settings):
    series_id = await add_series(db, "Mannen in gesprek")
    came = await _sign_up_through(db, settings, "1001", series_id, SOURCE)
    stayed_away = await _sign_up_through(db, settings, "1002", series_id, SOURCE)
    async with db.transaction() as connection:
        first = await connection.scalar(select(meetings.c.id).where(meetings.c.number == 1))
        second = await connection.scalar(select(meetings.c.id).where(meetings.c.number == 2))
        for meeting in (first, second):
            await invites.mark_attendance(connection, SECRET, came, meeting, True, NOW)
        await invites.mark_attendance(connection, SECRET, stayed_away, first, False, NOW)
        assert await connection.scalar(select(attendance.c.present).where(attendance.c.participant_id == came)) == 1
        left = list(await connection.scalars(select(invite_markers.c.marker)))
    assert await counted(db, series_id) == {SOURCE: (2, 1)}
    assert left == [invites.marker(SECRET, "telegram", "1002", series_id)]


async def test_markers_go_when_the_series_ends_and_on_delete(db, settings):
    from bot.domain import erasure
    series_id = await add_series(db, "Mannen in gesprek")
    await _sign_up_through(db, settings, "2001", series_id, SOURCE)
    await _sign_up_through(db, settings, "2002", series_id, "buurthuis")
    async with db.transaction() as connection:
        await erasure.erase(connection, settings, "telegram", "2001", NOW)
        assert list(await connection.scalars(select(invite_markers.c.source))) == ["buurthuis"]
        last = await connection.scalar(select(meetings.c.starts_at).order_by(meetings.c.starts_at.desc()))
        assert await invites.forget_ended(connection, last - timedelta(hours=1)) == 0
        assert await invites.forget_ended(connection, last + timedelta(hours=1)) == 1
        assert list(await connection.scalars(select(invite_markers.c.marker))) == []
    assert await counted(db, series_id) == {SOURCE: (1, 0), "buurthuis": (1, 0)}  # counts stay


async def test_without_the_key_no_source_can_be_tied_to_a_man(db, settings):
    """The attacker holds the database file, participants table included, but not the key:
    the markers are keyed hashes in key order (not in sign-up order), and no row that names a
    man holds a source."""
    series_id = await add_series(db, "Mannen in gesprek")
    sources = ["flyer-a", "flyer-b", "buurthuis", "friend", "flyer-a", "moskee"]
    for n, source in enumerate(sources):
        await _sign_up_through(db, settings, f"30{n:02d}", series_id, source)
    async with db.engine.connect() as connection:
        stored = [tuple(row) for row in await connection.execute(text("SELECT marker, source FROM invite_markers"))]
        men = [tuple(row) for row in await connection.execute(select(participants.c.id, participants.c.channel, participants.c.address))]
        state = list(await connection.scalars(select(conversations.c.state)))
    assert [marker for marker, _source in stored] == sorted(marker for marker, _source in stored)
    guesses = set()
    for pid, channel, address in men:  # everything one could compute without the key
        for form in (address, f"{channel}:{address}", f"invite|{channel}:{address}|{series_id}", str(pid)):
            guesses |= {hashlib.sha256(form.encode()).hexdigest(), hashlib.md5(form.encode()).hexdigest(), form}
    assert not guesses & {marker for marker, _source in stored}
    for source in set(sources):
        found = await rows_mentioning(db, [source])
        assert {table for table, _row in found} <= {"invite_counts", "invite_markers"}, found
    assert all("source" not in value for value in state)
    # No column that could order the markers or point at a man: no time, no participant.
    assert [column.name for column in invite_markers.columns] == ["marker", "series_id", "source"]
    assert [column.name for column in invite_counts.columns] == ["series_id", "source", "signups", "attended"]


# --- WhatsApp: the code in his first message --------------------------------------------------


@pytest.fixture
def config(settings, tmp_path, twilio_api):  # noqa: F811 - the fixture from tests.whatsapp_chat
    return whatsapp_settings(settings, tmp_path, twilio_api[1].url)


async def test_a_whatsapp_first_message_with_the_code_offers_its_series_and_counts(twilio, config, db, clock):  # noqa: F811
    other = await add_series(db, "Vaders en zonen")
    invited = await add_series(db, "Mannen in gesprek")
    link = invites.links(config, None, invited, SOURCE, "ar").whatsapp
    prefilled = unquote(parse_qs(urlparse(link).query)["text"][0]) if "%" in link else parse_qs(urlparse(link).query)["text"][0]
    async with running_whatsapp(config, clock) as service:
        man = Man(service, twilio, "+31612349999")
        first = await man.say(prefilled)
        with use_locale("ar"):
            welcome = _("You were invited to %(series)s. Welcome!").split("%")[0]
        assert welcome in first.body  # in Arabic: his message was Arabic
        await man.say("1")  # العربية, first in his menu
        await man.say("1")  # yes
        series_question = await man.say("يوسف")
        assert series_question.body.index("Mannen in gesprek") < series_question.body.index("Vaders en zonen")
        await man.say("1")  # the first group listed: his
        await man.say("2")
    assert await counted(db, invited) == {SOURCE: (1, 0)}
    assert await counted(db, other) == {}
    async with db.transaction() as connection:
        row = (await connection.execute(select(invite_counts))).one()
    assert (row.series_id, row.source, row.signups) == (invited, SOURCE, 1)


def test_the_source_is_dropped_when_he_turns_away_before_signing_up():
    """Kept only on the way to a sign-up: a man who opens a link and then goes elsewhere
    (here: /delete's question, or the menu of a man already signed up for that series)
    leaves no source behind."""
    from dataclasses import replace

    from dialogs import router
    from dialogs.types import Command, Invited, ParticipantView, SignupView
    from tests.dialog_helpers import Driver

    d = Driver(participant=ParticipantView("nl", "Jan", "Osdorp", "active"))
    series_id = next(s.id for s in d.world.series.values() if s.seats_left)
    invited = replace(d.ctx, invited=Invited(series_id, SOURCE))
    step = router.handle(d.state, Command("start", "x"), invited)
    assert step.state["invite"] == {"series": series_id, "source": SOURCE}
    step = router.handle(step.state, Command("delete"), d.ctx)
    assert "invite" not in step.state
    signed = ParticipantView("nl", "Jan", "Osdorp", "active", (SignupView(series_id, "confirmed"),))
    d = Driver(participant=signed)
    step = router.handle(d.state, Command("start", "x"), replace(d.ctx, invited=Invited(series_id, SOURCE)))
    assert "invite" not in step.state  # already signed up for it: the menu, no source kept


async def test_only_the_reminders_of_the_second_meeting_have_invite_a_friend(db, settings):
    from bot.delivery import outbox
    from bot.store.schema import outbox as outbox_table
    from scheduler import reminders

    series_id = await add_series(db, "Mannen in gesprek")
    await _sign_up_through(db, settings, "4001", series_id, "")
    async with db.transaction() as connection:
        starts = {
            number: at for number, at in await connection.execute(select(meetings.c.number, meetings.c.starts_at))
        }
    for number in (1, 2, 3):
        await reminders.queue_due_reminders(db, settings, starts[number] - timedelta(hours=23))
    async with db.transaction() as connection:
        payloads = list(await connection.scalars(select(outbox_table.c.payload).order_by(outbox_table.c.id)))
    keys = [[option.key for option in outbox.decode(payload).options] for payload in payloads]
    assert [any(key.startswith("friend:") for key in row) for row in keys] == [False, True, False]
    assert f"friend:{series_id}" in keys[1]
