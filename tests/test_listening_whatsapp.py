"""The listening poll on WhatsApp: signed Twilio webhooks into the real HTTP app, the real twilio
client out through ``prism proxy`` to the recording fake (see tests/test_whatsapp.py). A man who
has not signed up answers by numbers, first through the listening link's prefilled message."""

from __future__ import annotations

from bot.domain import listening as links
from dialogs import listening
from tests import raw_database, sealed
from tests.test_checkin_anonymity import add_men
from tests.test_whatsapp import tr
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    Man,
    clock,
    running,
    twilio,
    twilio_api,
    whatsapp_settings,
)

MAN = "+31612340077"


async def test_a_man_answers_by_numbers_on_whatsapp_through_a_link_with_an_area(twilio, settings, tmp_path, twilio_api, db, clock):
    await add_men(db, 5, "nl", "Slotervaart", first=9000)
    config = whatsapp_settings(settings, tmp_path, twilio_api[1].url)
    code = links.code(config.secret_key.encode(), tuple(config.areas), "Slotervaart")
    async with running(config, clock) as service:
        man = Man(service, twilio, MAN)
        first = await man.say(f"Hallo! Ik wil graag meedoen met de vragen. Code: {code}")
        assert tr("nl", "What makes it hard for you to take part in meetings like ours? Choose all that apply, "
                  "then press Done.") in first.body
        assert first.body.endswith(f"10 {tr('nl', 'Done')}\n11 {tr('nl', 'Skip')}")
        ticked = await man.say("1")  # working hours: ticked, the question again
        assert f"1 ✓ {tr('nl', listening.BARRIERS[0])}" in ticked.body
        await man.say("8")  # I didn't know about it
        interests = await man.say("10")  # Done
        assert tr("nl", "What would interest you in a meeting? Choose all that apply, then press Done.") in interests.body
        await man.say("7")  # learning Dutch
        await man.say("9")  # Done (eight interests)
        await man.say("2")  # weekend
        thanks = await man.say("4")  # Done (three day parts)
        assert tr("nl", "Thank you for your answers! They help us shape meetings that suit more men.") in thanks.body
        again = await man.say("/listen")
        assert again.body == tr("nl", "You have already answered these questions. Thank you!")
    assert sealed.pool_rows(config.database_url, "listening_pool", "area, barriers, interests, day_parts") == [
        ("Slotervaart", 1 | 1 << 7, 1 << 6, 1 << 1)
    ]
    assert raw_database.query(config.database_url, f"SELECT count(*) FROM participants WHERE address = '{MAN}'") == [(0,)]
