"""The listening poll in the report: the rule of 10 and complementary suppression over
``listening_responses`` (bot/analytics/listening.py), in the text and CSV report."""

from __future__ import annotations

import csv
import io
import secrets

from sqlalchemy import insert

from bot.analytics.listening import MEASURES, NO_AREA, protect_listening
from bot.analytics.report import render_csv, render_text
from bot.store import listening as store
from bot.store.report_data import build
from bot.store.schema import listening_responses
from dialogs.listening import QUESTIONS
from tests.conftest import NOW

OPTIONS = {name: len(options) for name, options in QUESTIONS}
AREAS = ("Nieuw-West", "Osdorp", "Slotervaart")


def answers(area: str | None, count: int, barriers: int | None = 0b1, interests: int | None = 0b10,
            day_parts: int | None = 0b1, *, alike: bool = False) -> list[dict]:
    """``count`` answers in ``area``; unless ``alike``, every other one names one option more,
    so no share sits at the end of its scale."""
    rows = []
    for n in range(count):
        extra = 0 if alike or n % 2 else 0b100
        rows.append({
            "id": secrets.token_hex(16), "iso_week": "2026-W40", "area": area,
            "barriers": None if barriers is None else barriers | extra,
            "interests": None if interests is None else interests | extra,
            "day_parts": None if day_parts is None else day_parts | (extra >> 1),
        })
    return rows


async def protected(db, rows: list[dict]):
    async with db.transaction() as connection:
        await connection.execute(insert(listening_responses), rows)
        tallies = await store.tallies(connection, OPTIONS)
    return protect_listening(tallies, AREAS)


async def test_an_area_under_ten_is_hidden_and_the_next_smallest_with_it(db):
    listening = await protected(db, answers("Nieuw-West", 14) + answers("Osdorp", 11) + answers("Slotervaart", 3))
    assert listening.respondents == {None: 28, "Nieuw-West": 14}  # Slotervaart (3) hidden; Osdorp too
    # (shown, the two would leave 3 men to be worked out by subtraction)
    assert listening.share(None, "barriers", 2) == (7 + 6 + 2) / 28
    assert listening.share("Osdorp", "barriers", 2) is None
    assert listening.share("Slotervaart", "barriers", 0) is None


async def test_a_share_at_either_end_of_its_scale_is_hidden(db):
    # Everyone named barrier 0 and nobody barrier 5: both would say how every one of them answered.
    listening = await protected(db, answers("Osdorp", 12, alike=True) + answers("Nieuw-West", 12))
    assert listening.share(None, "barriers", 0) is None
    assert listening.share(None, "barriers", 5) is None
    assert listening.share(None, "barriers", 2) == 6 / 24
    assert listening.share("Osdorp", "barriers", 2) is None  # nobody in Osdorp named it ...
    # ... and Nieuw-West's 6 of 12 is hidden with it: from the total (6 of 24) it would tell
    # that nobody in Osdorp named it.
    assert listening.share("Nieuw-West", "barriers", 2) is None
    assert listening.share("Nieuw-West", "interests", 1) is None  # everyone named interest 1 ...
    assert listening.respondents == {None: 24, "Nieuw-West": 12, "Osdorp": 12}  # ... the counts show


async def test_the_denominator_is_the_men_who_answered_the_question(db):
    rows = answers("Osdorp", 10) + answers("Osdorp", 6, interests=None) + answers(None, 10)
    listening = await protected(db, rows)
    assert listening.respondents["Osdorp"] == 16
    assert listening.share("Osdorp", "barriers", 2) == 8 / 16
    assert listening.share("Osdorp", "interests", 2) == 5 / 10  # six skipped the question
    assert listening.respondents[NO_AREA] == 10


async def test_nine_men_in_all_show_nothing(db):
    listening = await protected(db, answers("Osdorp", 9))
    assert listening.respondents == {} and listening.shares == {}


def test_every_option_is_a_measure_over_its_own_question():
    names = {m.name for m in MEASURES[1:]}
    assert len(names) == sum(OPTIONS.values())
    assert all(m.count == m.men for m in MEASURES[1:])


async def test_the_report_shows_the_section_with_hidden_groups_and_no_small_counts(db, settings):
    async with db.transaction() as connection:
        await connection.execute(
            insert(listening_responses), answers("Nieuw-West", 14) + answers("Osdorp", 11) + answers("Slotervaart", 3)
        )
        report = await build(connection, settings, NOW)
    text = render_text(report)
    section = text[text.index("Listening poll"):]
    assert "Working hours or shifts" in section and "Just" not in section
    header, counts = section.splitlines()[1:3]
    # All areas, then the configured ones (Geuzenveld-Slotermeer, Osdorp, De Aker/Sloten/Nieuw-Sloten,
    # Slotervaart), then Nieuw-West (found in the answers), then "not given".
    assert counts.split() == ["28", "hidden", "hidden", "hidden", "hidden", "14", "hidden"]
    assert " 3 " not in section and " 11 " not in section
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    mine = [row for row in rows if row[0] == "listening"]
    assert ["listening", "all", "Slotervaart", "men who answered", "hidden"] in mine
    assert ["listening", "all", "all areas", "barriers: Costs or travel", "hidden"] in mine  # nobody named it
    assert ["listening", "all", "Nieuw-West", "barriers: Family duties", f"{7 / 14:.4f}"] in mine
