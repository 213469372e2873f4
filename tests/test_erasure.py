"""The erasure ledger: /delete leaves a keyed hash of his address (and the day), and
``reapply`` erases him again from a database restored from an older backup."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.domain import erasure
from bot.store import conversations, erasures, help_requests, participants
from bot.store import series as series_store
from bot.store.schema import erasures as erasures_table
from bot.store.schema import signups
from tests.conftest import NOW
from tests.test_store import SERIES, rows_mentioning


async def test_erase_records_only_a_keyed_hash_and_the_day(db, settings):
    async with db.transaction() as connection:
        him = await participants.create(connection, "telegram", "7001", "nl", NOW)
        await help_requests.ask(connection, him, NOW)  # an open "get in touch" request goes too
        await erasure.erase(connection, settings, "telegram", "7001", NOW)
        ledger = await erasures.ledger(connection)
    secret = settings.secret_key.encode()
    assert ledger == {erasures.address_hash(secret, "telegram", "7001"): NOW.date().isoformat()}
    assert erasures.address_hash(b"another-key-0123456789", "telegram", "7001") not in ledger
    assert await rows_mentioning(db, ["7001"], participant_id=him) == []


async def test_reapply_erases_whom_the_ledger_names_but_not_a_later_new_sign_up(db, settings):
    erased_on = NOW + timedelta(days=3)
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, SERIES, settings.timezone, NOW)
        before = await participants.create(connection, "telegram", "7002", "so", NOW)
        await series_store.sign_up(connection, before, series_id, waitlist=False, now=NOW)
        await help_requests.ask(connection, before, NOW)
        await conversations.save(connection, "whatsapp", "+31612345678", {"lang": "ar"}, NOW)
        await participants.create(connection, "telegram", "7003", "nl", erased_on + timedelta(days=1))
        await participants.create(connection, "telegram", "7004", "en", NOW)
        secret = settings.secret_key.encode()
        for channel, address in (("telegram", "7002"), ("whatsapp", "+31612345678"), ("telegram", "7003")):
            await erasures.record(connection, erasures.address_hash(secret, channel, address), erased_on.date())
        erased = await erasure.reapply(connection, settings, erased_on + timedelta(days=5))
    assert erased == 2
    assert await rows_mentioning(db, ["7002", "+31612345678"], participant_id=before) == []
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "7003") is not None  # came back later
        assert await participants.find(connection, "telegram", "7004") is not None
        assert await connection.scalar(select(func.count()).select_from(signups)) == 0
        assert await connection.scalar(select(func.count()).select_from(erasures_table)) == 3


async def test_merge_keeps_the_later_day(db):
    async with db.transaction() as connection:
        await erasures.record(connection, "a" * 64, NOW.date())
        await erasures.merge(connection, {"a" * 64: "2020-01-01", "b" * 64: "2027-01-01"})
        await erasures.merge(connection, {"b" * 64: "2028-02-02"})
        assert await erasures.ledger(connection) == {"a" * 64: NOW.date().isoformat(), "b" * 64: "2028-02-02"}


async def test_erase_and_reapply_take_his_invite_marker_and_leave_the_counts(db, settings):
    """An invite marker is a keyed hash of him: /delete (and its reapplication after a
    restore) derives it again and deletes it; the anonymous counts stay."""
    from bot.domain import invites
    from bot.store.schema import invite_markers

    secret = settings.secret_key.encode()
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, SERIES, settings.timezone, NOW)
        for address in ("7101", "7102"):
            man = await participants.create(connection, "telegram", address, "nl", NOW)
            await series_store.sign_up(connection, man, series_id, waitlist=False, now=NOW)
            await invites.count_signup(connection, secret, "telegram", address, invites.Invite(series_id, "buurthuis"))
        await erasure.erase(connection, settings, "telegram", "7101", NOW)
        left = list(await connection.scalars(select(invite_markers.c.marker)))
        assert left == [invites.marker(secret, "telegram", "7102", series_id)]
        await erasures.record(connection, erasures.address_hash(secret, "telegram", "7102"), NOW.date())
        await erasure.reapply(connection, settings, NOW + timedelta(days=1))
        assert list(await connection.scalars(select(invite_markers.c.marker))) == []
        assert await invites.counts(connection, series_id) == [("buurthuis", 2, 0)]
