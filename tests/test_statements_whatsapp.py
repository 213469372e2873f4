"""The statements poll on WhatsApp (issue 17 §1): the real twilio client through prism to the
recording fake, the offer held behind the opener outside the 24 hours, then numbered
answers, and the poll stored without anything that names him."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.store.checkins import pooled
from bot.store.schema import outbox, statement_pool
from dialogs import statements
from scheduler.statement_offers import queue_statement_offers
from tests.test_whatsapp import (
    DUTCH_MAN,
    FIRST_MEETING,
    OPENER,
    add_series,
    config,  # noqa: F401 - fixture
    content,
    eventually,
    sign_up,
    tr,
)
from tests.whatsapp_chat import Man, clock, running, twilio, twilio_api  # noqa: F401 - fixtures


async def test_a_dutch_man_answers_the_statements_by_number_on_whatsapp(twilio, config, db, clock):
    series_id = await add_series(db)
    async with running(config, clock) as service:
        man = Man(service, twilio, DUTCH_MAN)
        await sign_up(man, "nl")
        signed_up = len(man.messages)
        clock.advance(seconds=(FIRST_MEETING - clock()).total_seconds() + 300)
        assert await queue_statement_offers(service.db, config, clock()) == 1
        service.wake_all()
        [*_, opener] = await twilio.wait_for_messages(DUTCH_MAN, signed_up + 1)
        assert opener.fields == content(DUTCH_MAN, OPENER, {"1": "Meedoen"}, config)  # outside the 24 hours
        await eventually(lambda: _held(db))  # the offer waits for his tap (the opener recorded)

        offer = await man.tap("show", "Show message", replied_to=opener.sid)
        body = offer.fields["Body"]
        assert tr("nl", "At the start of “%(series)s” we would like to know what you think about a few "
                  "statements. It is anonymous and takes a minute.", series="Mannen in gesprek") in body
        assert "1 Ja, we beginnen" in body or "1 " + tr("nl", "Yes, let's start") in body

        first = await man.say("1")
        assert tr("nl", statements.SHIPPED[1]) in first.fields["Body"]
        assert "1 Helemaal eens" in first.fields["Body"] and "6 Zeg ik liever niet" in first.fields["Body"]
        for number in ("2", "3", "6"):
            await man.say(number)
        done = await man.say("5")
        assert "Bedankt voor je antwoorden!" in done.fields["Body"]
    async with db.transaction() as connection:
        rows = await pooled(connection, statement_pool)
    assert [(row["series_id"], row["phase"], json.loads(row["answers"])) for row in rows] == [
        (series_id, "before", {"1": 2, "2": 3, "3": 0, "4": 5})
    ]
    assert set(rows[0]) == {"series_id", "phase", "iso_week", "answers"}


async def _held(db) -> bool:
    async with db.transaction() as connection:
        statuses = set(await connection.scalars(select(outbox.c.status).where(outbox.c.address == DUTCH_MAN)))
    return "held" in statuses
