"""The facilitator's form once on WhatsApp: signed Twilio webhooks into the real HTTP app, the
real twilio client out through ``prism proxy`` to the recording fake (see tests/test_whatsapp.py).
The form arrives the morning after, outside his 24-hour window: the opener first, the form
once he taps it; he answers by typing numbers and text."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from bot.store import conversations, facilitators, participants
from bot.store import series as series_store
from bot.store.schema import meeting_reports, outbox
from dialogs.i18n import RLM, _, fill, use_locale
from tests.test_facilitators import MEETING, MORNING_AFTER
from tests.test_whatsapp import eventually
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    OPENER,
    Man,
    clock,
    running,
    twilio,
    twilio_api,
    whatsapp_settings,
)

LEADER = "+31612340009"


def tr(language: str, message: str, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values) if values else _(message)


async def test_the_form_on_whatsapp_in_somali(twilio, settings, tmp_path, twilio_api, db, clock):
    async with db.transaction() as connection:
        new = series_store.NewSeries("Mannen in gesprek", 3, time(19), date(2026, 11, 19), 3, 10, "Huis van de Wijk", "")
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", MEETING - timedelta(days=10))
        meeting = (await series_store.meeting_rows(connection, series_id))[0].id
        await participants.create(connection, "whatsapp", LEADER, "so", MEETING - timedelta(days=9))
        # he signed up in the chat once (his conversation is there); days ago: his window is closed
        await conversations.save(connection, "whatsapp", LEADER, {"q": 7}, MEETING - timedelta(days=9))
        await facilitators.add(connection, "whatsapp", LEADER, series_id, MEETING - timedelta(days=9))
    clock.now = MORNING_AFTER
    config = whatsapp_settings(settings, tmp_path, twilio_api[1].url)
    async with running(config, clock) as service:
        leader = Man(service, twilio, LEADER)
        await service.scheduler.tick()
        [opener] = await twilio.wait_for_messages(LEADER, 1)  # outside his window: the opener
        assert opener.fields["ContentSid"] == OPENER
        await eventually(lambda: _held(db))  # the form waits for his tap
        form = await leader.tap("show", "Show message", replied_to=opener.sid)
        assert "Mannen in gesprek" in form.body and form.body.endswith("\n\n1 " + tr("so", "Fill in the form"))

        count = await leader.say("1")
        assert tr("so", "How many men were there? Type the number.") in count.body
        themes = await leader.say("6")
        assert f"\n1 ◻️ {tr('so', 'Work and income')}" in themes.body
        await leader.say("1")  # work and income, on
        await leader.say("3")  # family roles, on
        exercises = await leader.say("10")  # Done
        assert tr("so", "Which statements or exercises did you use? Write them briefly, or press Skip.") in exercises.body
        atmosphere = await leader.say("Weedho ku saabsan aabbanimada")
        assert atmosphere.body.endswith("1 · 2 · 3 · 4 · 5")  # a scale: he types the value
        await leader.say("4")
        follow_up = await leader.say("Wada-hadal furan oo ku saabsan shaqada.")
        assert follow_up.body.endswith(f"1 {tr('so', 'Yes')}\n2 {tr('so', 'No')}")
        thanks = await leader.say("2")
    assert thanks.body == tr("so", "Thank you! The form is saved and the coordinators have been told.")
    assert not thanks.body.startswith(RLM)
    async with db.transaction() as connection:
        form_row = (await connection.execute(select(meeting_reports))).one()
    assert (form_row.meeting_id, form_row.men_present, form_row.themes, form_row.atmosphere) == (meeting, 6, "work,roles", 4)
    assert form_row.exercises == "Weedho ku saabsan aabbanimada"
    assert (form_row.outcomes, form_row.follow_up, form_row.language) == ("Wada-hadal furan oo ku saabsan shaqada.", 0, "so")


async def _held(db) -> bool:
    async with db.transaction() as connection:
        status = await connection.scalar(select(outbox.c.status).where(outbox.c.address == LEADER, outbox.c.kind == "form"))
    return status == "held"
