"""WhatsApp with two instances on one PostgreSQL (docs/scaling.md, "WhatsApp state"): what a
man saw last, his held messages and their opener, a closed window and the media links live
in the database, so that whichever instance Twilio reaches, and whichever sends, knows them.
Two real services (their own connections, outbox senders and HTTP apps) against the Twilio
stand-in behind prism."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from sqlalchemy import select, update

from bot.channels.base import Outgoing
from bot.channels.whatsapp import store
from bot.config import Settings
from bot.delivery import outbox
from bot.store.database import Database
from bot.store.schema import outbox as outbox_table
from bot.store.schema import participants, whatsapp_messages
from tests.conftest import NOW
from tests.telegram_chat import free_port
from tests.test_whatsapp import (
    SOMALI_MAN,
    _is,
    add_series,
    eventually,
    queue,
    sign_up,
)
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    OPENER,
    Man,
    clock,
    running,
    twilio,
    twilio_api,
    whatsapp_settings,
)


@pytest.fixture
async def shared(postgres_url):
    database = Database(postgres_url)
    await database.upgrade()
    yield database
    await database.close()


@pytest.fixture
def configs(postgres_url, tmp_path, twilio_api) -> tuple[Settings, Settings]:
    """Two instances' settings: one database, one public URL (the load balancer's), each its
    own port."""
    first = whatsapp_settings(
        Settings(database_url=postgres_url, secret_key="test-secret-key-0123456789"), tmp_path, twilio_api[1].url
    )
    return first, dataclasses.replace(first, http_port=free_port())


def at(url: str, config: Settings) -> str:
    """``url`` as the load balancer would hand it to the instance of ``config``."""
    return url.replace(config.public_url, f"http://127.0.0.1:{config.http_port}")


async def test_an_image_sent_by_one_instance_is_served_by_the_other(twilio, configs, shared, clock):
    """Twilio fetches the media link through the load balancer: any instance must serve it."""
    first, second = (dataclasses.replace(config, twilio_api_base_url=twilio.url) for config in configs)
    image = b"\x89PNG\r\n\x1a\n" + b"1" * 100
    async with running(first, clock) as one, running(second, clock):
        man = Man(one, twilio, "+31612340009")
        await man.say("Hallo")
        await queue(one, man, Outgoing("Het verslag", image=image), kind="reply")
        picture, _caption = (await twilio.wait_for_messages(man.number, 3))[1:]
        async with httpx.AsyncClient() as client:
            fetched = [await client.get(at(picture.media_urls[0], config)) for config in configs]
    assert [(f.status_code, f.content) for f in fetched] == [(200, image), (200, image)]


async def test_two_instances_send_one_opener_for_his_held_messages(twilio, configs, shared, clock):
    await add_series(shared)
    first, second = configs
    async with running(first, clock) as one, running(second, clock) as other:
        man = Man(one, twilio, SOMALI_MAN)
        await sign_up(man, "so")
        clock.advance(hours=25)  # his window has closed; no Somali template: held, one opener
        rows = [await queue(one, man, Outgoing(f"Fariin {n}"), kind="broadcast") for n in range(4)]
        other.wake("whatsapp")
        for row in rows:
            await eventually(lambda row=row: _is(shared, row, "held"))
        openers = [m for m in man.messages if m.content_sid == OPENER]
        assert len(openers) == 1
        clock.advance(minutes=30)
        await Man(other, twilio, SOMALI_MAN).tap("show", "Show message", replied_to=openers[0].sid, replies=4)
        for row in rows:
            await eventually(lambda row=row: _is(shared, row, "sent"))
    assert [m.body for m in man.messages[-4:]] == [f"Fariin {n}" for n in range(4)]


async def test_of_many_claims_at_once_for_one_man_one_opener_wins(shared, postgres_url):
    """Fifteen of his messages being held at once, by three instances: one opener."""
    number = "+31600000001"
    async with shared.transaction() as connection:
        await connection.execute(
            participants.insert().values(channel="whatsapp", address=number, language="so", consented_at=NOW)
        )
        rows = [
            outbox.new_row(channel="whatsapp", address=number, payload="{}", kind="broadcast",
                           priority=outbox.BULK, now=NOW, dedupe_key=f"b:{n}")
            for n in range(15)
        ]
        await outbox.enqueue_many(connection, rows)
        await connection.execute(update(outbox_table).values(status="sending"))
        ids = list(await connection.scalars(select(outbox_table.c.id)))
    others = [Database(postgres_url) for _ in range(3)]
    try:
        claims = await asyncio.gather(
            *(store.claim_opener(others[n % 3], number, row, "broadcast", NOW) for n, row in enumerate(ids))
        )
    finally:
        for db in others:
            await db.close()
    won = [claim for claim in claims if claim is not None]
    async with shared.transaction() as connection:
        kept = list(await connection.scalars(select(whatsapp_messages.c.sid)))
    assert len(won) == 1 and kept == won


async def test_a_closed_window_is_known_to_every_instance(twilio, configs, shared, clock):
    """WhatsApp answers 63016 (window closed) to one instance's status callback: the man's
    next message, sent by the other instance, goes by template, not free-form again."""
    await add_series(shared)
    first, second = configs
    async with running(first, clock) as one, running(second, clock):
        man = Man(one, twilio, "+31612340008")
        await sign_up(man, "nl")
        await store.apply_status(
            shared, sid="SM" + "0" * 32, status="undelivered", error="63016", address=man.number,
            window_closed=True, now=clock(),
        )
        async with shared.transaction() as connection:
            last = await connection.scalar(
                select(participants.c.last_inbound_at).where(participants.c.address == man.number)
            )
        assert last is None
        who = await store.recipient(shared, man.number)
        assert who is not None and who.last_inbound_at is None
