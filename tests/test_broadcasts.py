"""Broadcasts end to end: the real engine, outbox and Telegram channel against the local Bot
API server (which can enforce Telegram's limits and answer 403), a real SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from bot.channels import callback_data
from bot.delivery import outbox as outbox_module
from bot.domain import broadcasts
from bot.store import participants as participant_store
from bot.store import series as series_store
from bot.store.schema import OUTBOX_STATUSES, outbox, participants, signups
from bot.store.schema import broadcasts as broadcasts_table
from dialogs.i18n import LRI, PDI, RLM, _, use_locale
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings

UTC = UTC
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def in_(language: str, text: str) -> str:
    with use_locale(language):
        return _(text)


async def men(db, specs, series_id=None, waitlist=False):
    """Participants (address, language[, area]) in the database; signed up if ``series_id``."""
    async with db.transaction() as connection:
        for spec in specs:
            address, language, *rest = spec
            pid = await participant_store.create(connection, "telegram", str(address), language, NOW)
            if rest:
                await participant_store.change(connection, pid, area=rest[0])
            if series_id is not None:
                await series_store.sign_up(connection, pid, series_id, waitlist=waitlist, now=NOW)


async def a_series(db, capacity=12, name="Mannen in gesprek"):
    new = series_store.NewSeries(name, 3, time(19), date(2026, 12, 3), 6, capacity, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def queue(db, keys, texts, invite=None):
    async with db.transaction() as connection:
        return await broadcasts.create(
            connection, created_by="cli", audience_keys=tuple(keys), texts=texts,
            invite_series_id=invite, areas=("Osdorp", "Slotervaart"), now=datetime.now(UTC),
        )


async def wait_done(db, broadcast_id, timeout=60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with db.transaction() as connection:
            recipients, tally = await broadcasts.status(connection, broadcast_id)
        if tally["waiting"] == 0:
            return tally
        assert asyncio.get_running_loop().time() < deadline, f"broadcast stalled: {tally}"
        await asyncio.sleep(0.1)


async def test_a_paced_broadcast_meets_no_429(settings, db):
    async with FakeTelegram(rate_limits=True) as tg:
        await men(db, [(8000 + n, "nl") for n in range(75)])
        broadcast_id, recipients = await queue(db, ["all"], {"nl": "Uitnodiging"})
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_chat_interval=1.0)
        started = asyncio.get_running_loop().time()
        async with running(configured):
            tally = await wait_done(db, broadcast_id)
        took = asyncio.get_running_loop().time() - started
        assert tg.violations == []
    assert recipients == 75
    assert tally["delivered"] == 75
    assert tg.too_many_requests == 0
    assert took >= 74 / 30  # never faster than Telegram allows


async def test_blocked_men_become_stopped_and_the_rest_is_delivered(settings, db):
    async with FakeTelegram() as tg:
        await men(db, [(8100 + n, "so") for n in range(20)])
        for blocked in (8103, 8111):
            tg.block(blocked)
        broadcast_id, _recipients = await queue(db, ["all"], {"nl": "Hallo", "so": "Salaan"})
        async with running(telegram_settings(settings, tg)):
            tally = await wait_done(db, broadcast_id)
        assert tg.violations == []
        delivered_to = {m["chat"]["id"] for m in tg.sent}
    assert tally == {"delivered": 18, "failed": 0, "blocked": 2, "skipped": 0, "waiting": 0}
    assert delivered_to == {8100 + n for n in range(20)} - {8103, 8111}
    async with db.transaction() as connection:
        stopped = (await connection.execute(select(participants.c.address).where(participants.c.status == "stopped"))).scalars().all()
        retried = await connection.scalar(select(outbox.c.attempts).where(outbox.c.address == "8103"))
    assert sorted(stopped) == ["8103", "8111"]
    assert retried == 1  # a 403 is never retried


async def test_overlapping_audiences_languages_and_the_dutch_fallback(settings, db):
    series_id = await a_series(db)
    await men(db, [(8201, "so", "Osdorp"), (8202, "ar"), (8203, "nl")], series_id=series_id)
    await men(db, [(8204, "so"), (8205, "en")])
    async with FakeTelegram() as tg:
        broadcast_id, recipients = await queue(
            db, [f"series:{series_id}", "language:so"], {"nl": "Nieuwe reeks!", "so": "Taxane cusub!"}, invite=series_id
        )
        async with running(telegram_settings(settings, tg)):
            await wait_done(db, broadcast_id)
        assert tg.violations == []
        texts = {m["chat"]["id"]: m["text"] for m in tg.sent}
        counts = {chat: tg.count_to(chat) for chat in texts}
    assert recipients == 4  # 8201 is in both audiences, 8205 in neither
    assert counts == {8201: 1, 8202: 1, 8203: 1, 8204: 1}
    assert texts[8201].startswith("Taxane cusub!") and texts[8204].startswith("Taxane cusub!")
    assert texts[8203] == "Nieuwe reeks!"
    note = in_("ar", "(This message is in Dutch because there is no translation in your language yet.)")
    arabic = texts[8202].replace(LRI, "").replace(PDI, "")  # the Latin run is isolated
    assert texts[8202].startswith(f"{RLM}{LRI}Nieuwe reeks{PDI}!") and note in arabic


async def test_a_crash_never_resends_what_was_delivered(settings, db):
    """Rows left ``sending`` by a crash are not resent (at most once for the uncertain few);
    everything else goes exactly once when the service comes back."""
    await men(db, [(8300 + n, "nl") for n in range(30)])
    broadcast_id, _ = await queue(db, ["all"], {"nl": "Hallo"})
    async with db.transaction() as connection:
        first = (await connection.execute(select(outbox.c.id).order_by(outbox.c.id).limit(3))).scalars().all()
        await connection.execute(outbox.update().where(outbox.c.id.in_(first[:2])).values(status="sent"))
        await connection.execute(outbox.update().where(outbox.c.id == first[2]).values(status="sending"))
    async with FakeTelegram() as tg:
        async with running(telegram_settings(settings, tg)):
            tally = await wait_done(db, broadcast_id)
        assert tg.violations == []
        assert len(tg.sent) == 27
    assert tally["delivered"] == 29 and tally["failed"] == 1  # the uncertain one


async def test_only_coordinators_can_broadcast(settings, db):
    await a_series(db)
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
        async with running(configured):
            outsider = Chat(tg, 9100)
            reply = await outsider.command("/broadcast")
            unknown = await outsider.command("/frobnicate")
            assert reply["text"] == unknown["text"]  # nothing tells him the command exists
            # a forged coordinator button, with a valid signature even (as if the secret leaked)
            data = callback_data.encode(settings.secret_key.encode(), "9100", 1, "co:send")
            await outsider.forge(reply, data)
            await outsider.forge(reply, "1|co:send|AAAAAAAAAAAA")
        assert tg.violations == []
    async with db.transaction() as connection:
        assert (await connection.execute(select(broadcasts_table))).all() == []
        assert (await connection.execute(select(outbox))).all() == []


async def test_a_coordinator_composes_in_chat_and_men_sign_up_from_the_invite(settings, db):
    series_id = await a_series(db, capacity=1, name="Vaders en zonen")
    await men(db, [(8401, "so")], series_id=series_id)  # takes the only seat
    await men(db, [(8402, "ar"), (8403, "nl")])
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
        async with running(configured):
            boss = Chat(tg, 9001, language_code="nl")
            await boss.command("/broadcast")
            assert "co:a:all" in boss.keys()
            await boss.tap("co:a:language:ar")
            await boss.tap("co:a:language:nl")
            await boss.tap("co:next")
            await boss.say("Kom naar Vaders en zonen!")
            await boss.tap("co:novoice")  # no voice message for the Dutch text
            await boss.say("تعال إلى لقاء الآباء والأبناء!")  # Arabic
            await boss.tap("co:novoice")
            await boss.tap("co:skip")  # Somali
            await boss.tap("co:skip")  # English
            preview = await boss.tap(f"co:i:{series_id}")
            assert "2" in preview["text"] and "Kom naar Vaders en zonen!" in preview["text"]
            await boss.tap("co:send")
            await tg.wait_for(lambda: tg.count_to(8402) == 1 and tg.count_to(8403) == 1)
            arabic = Chat(tg, 8402)
            assert arabic.text.startswith("\u200f") and "تعال" in arabic.text
            answer = await arabic.tap(f"inv:{series_id}")  # full: he lands on the waiting list
            assert arabic.keys(answer)  # the conversation goes on (area question)
            await tg.wait_for(lambda: any("8402" not in m["text"] and "2" in m["text"] for m in tg.messages_to(9001)[-1:]), timeout=30)
            await tg.wait_for(
                lambda: any(in_("nl", "Broadcast %(id)s is finished: %(delivered)s delivered, %(failed)s failed, %(blocked)s blocked the assistant, %(skipped)s skipped because they stopped.").split("%")[0] in m["text"] for m in tg.messages_to(9001)),
                timeout=30,
            )
        assert tg.violations == []
    async with db.transaction() as connection:
        statuses = dict((await connection.execute(select(signups.c.participant_id, signups.c.status))).all())
        row = (await connection.execute(select(broadcasts_table))).one()
    assert sorted(statuses.values()) == ["confirmed", "waitlist"]
    assert row.created_by == "telegram:9001" and row.recipients == 2 and row.status == "done"


def test_every_outbox_status_has_its_place_in_the_tally():
    """A copy in any state is counted once (cancelled ones apart), e.g. a 'claimed' one as
    waiting; a status no code writes is refused rather than left out of every count."""
    tally = broadcasts.tally(dict.fromkeys(OUTBOX_STATUSES, 1))
    assert tally == {"delivered": 3, "failed": 3, "blocked": 1, "skipped": 1, "waiting": 4}
    assert sum(tally.values()) == len(OUTBOX_STATUSES) - 1  # all but "cancelled"
    assert outbox_module.progress("claimed") == "waiting"
    with pytest.raises(ValueError, match="queued"):
        outbox_module.status_of("queued")
