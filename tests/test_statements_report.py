"""The statements' figures (bot/analytics/statements.py): the rule of 10 per phase and per
series, what the rest of the whole may reveal, categories at an end of the scale, the shift;
and storage: only finished series count, one answer per man and phase, /delete erases his
markers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.analytics import statements as figures
from bot.domain import erasure
from bot.domain import statements as domain
from bot.store import statements as store
from bot.store.schema import participants, signups, statement_markers
from dialogs.types import RecordStatements
from tests.conftest import NOW
from tests.test_telegram_signup import FIRST_MEETING, add_series

FOUR = [1, 2, 3, 4]


def polls(series_id: int, phase: str, *values_per_man: tuple[int, ...], statements=FOUR):
    return [(series_id, phase, dict(zip(statements, values, strict=True))) for values in values_per_man]


def same(series_id: int, phase: str, count: int, values=(1, 2, 3, 4)):
    """``count`` men answering alike but for a spread that keeps every category off the ends."""
    spread = [(1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2)]
    return polls(series_id, phase, *(spread[n % len(spread)] for n in range(count)))


def test_nothing_shows_until_both_phases_have_ten_men():
    answers = same(1, "before", 25) + same(1, "after", 9)
    report = figures.build({1: "A"}, {1: FOUR}, answers)
    assert not report.has_figures()
    text = "\n".join(figures.render_text(report, {}))
    assert "Not shown yet" in text and "%" not in text


def test_a_series_shows_apart_only_when_the_rest_is_nobody_or_ten_men():
    a = same(1, "before", 12) + same(1, "after", 12)
    b = same(2, "before", 5) + same(2, "after", 5)
    report = figures.build({1: "A", 2: "B"}, {1: FOUR, 2: FOUR}, a + b)
    assert [scope.series_id for scope in report.scopes] == [None]  # A apart would give away B's five
    c = same(3, "before", 6) + same(3, "after", 6)
    report = figures.build({1: "A", 2: "B", 3: "C"}, {1: FOUR, 2: FOUR, 3: FOUR}, a + b + c)
    assert [scope.series_id for scope in report.scopes] == [None, 1]  # the rest: 11 men in each phase
    alone = figures.build({1: "A"}, {1: FOUR}, a)
    assert [scope.series_id for scope in alone.scopes] == [None, 1]  # the rest is nobody


def test_a_series_is_not_shown_when_its_men_answered_only_before_or_only_after():
    a = same(1, "before", 30) + same(1, "after", 4)
    b = same(2, "before", 10) + same(2, "after", 10)
    report = figures.build({1: "A", 2: "B"}, {1: FOUR, 2: FOUR}, a + b)
    # B is 10+ in both phases, but showing it would leave A's four "after" men as the rest
    assert [scope.series_id for scope in report.scopes] == [None]


def test_the_rest_is_checked_per_statement_too():
    a = same(1, "before", 12) + same(1, "after", 12)
    b = polls(2, "before", *[(1, 2, 3, 4, 5)] * 4, statements=[1, 2, 3, 4, 9]) + \
        polls(2, "after", *[(1, 2, 3, 4, 5)] * 4, statements=[1, 2, 3, 4, 9])
    c = same(3, "before", 8) + same(3, "after", 8)
    report = figures.build({1: "A", 2: "B", 3: "C"}, {1: FOUR, 2: [1, 2, 3, 4, 9], 3: FOUR}, a + b + c)
    # the rest has 12 men a phase, but statement 9 was put to B's four only: together it
    # shows nothing (fewer than 10 asked), and A apart would not change that
    (everyone, *_series) = report.scopes
    nine = next(row for row in everyone.rows if row.statement == 9)
    assert nine.before is None and nine.after is None


def test_everyone_alike_or_all_but_one_is_hidden_and_so_is_the_shift():
    before = polls(1, "before", *[(1, 1, 1, 1)] * 11, (2, 2, 2, 2))
    after = polls(1, "after", *[(1, 1, 1, 1)] * 12)
    report = figures.build({1: "A"}, {1: FOUR}, before + after)
    row = report.scopes[0].rows[0]
    assert row.before.respondents == 12
    assert set(row.before.shares.values()) == {None} and set(row.after.shares.values()) == {None}
    assert row.shift is None


def test_hidden_categories_are_never_a_single_one_and_the_shift_is_after_minus_before():
    before = polls(1, "before", *[(1,) * 4] * 3, *[(2,) * 4] * 3, *[(3,) * 4] * 2, *[(4,) * 4] * 2)
    after = polls(1, "after", *[(1,) * 4] * 4, *[(2,) * 4] * 4, (3,) * 4, (4,) * 4)
    row = figures.build({1: "A"}, {1: FOUR}, before + after).scopes[0].rows[0]
    assert row.before.shares == {1: 0.3, 2: 0.3, 3: None, 4: 0.2, 5: None, 0: None}
    assert row.after.shares == {1: 0.4, 2: 0.4, 3: None, 4: None, 5: None, 0: None}
    assert round(row.shift, 4) == 0.2
    for distribution in (row.before, row.after):
        hidden = [v for v, share in distribution.shares.items() if share is None]
        rest = distribution.respondents - round(sum(s for s in distribution.shares.values() if s) * distribution.respondents)
        assert len(hidden) >= 2 and 2 <= rest <= distribution.respondents - 2


def test_a_category_hidden_for_all_series_is_hidden_in_each_series_too():
    a = polls(1, "before", *[(1, 2, 3, 4)] * 6, *[(2, 3, 4, 5)] * 6) + polls(1, "after", *[(1, 2, 3, 4)] * 12)
    b = polls(2, "before", *[(5, 2, 3, 4)] * 10, (0, 0, 0, 0)) + polls(2, "after", *[(2, 2, 3, 4)] * 11)
    report = figures.build({1: "A", 2: "B"}, {1: FOUR, 2: FOUR}, a + b)
    assert [scope.series_id for scope in report.scopes] == [None, 1, 2]
    everyone = {row.statement: row for row in report.scopes[0].rows}
    for scope in report.scopes[1:]:
        for row in scope.rows:
            for phase in ("before", "after"):
                whole, part = getattr(everyone[row.statement], phase), getattr(row, phase)
                if whole is not None and part is not None:
                    assert {v for v, s in whole.shares.items() if s is None} <= {v for v, s in part.shares.items() if s is None}


def test_the_csv_and_text_say_hidden_and_never_pair_a_mans_answers():
    before = polls(1, "before", *[(1,) * 4] * 3, *[(2,) * 4] * 3, *[(3,) * 4] * 2, *[(4,) * 4] * 2)
    after = polls(1, "after", *[(1,) * 4] * 4, *[(2,) * 4] * 4, (3,) * 4, (4,) * 4)
    report = figures.build({1: "A"}, {1: FOUR}, before + after)
    rows = figures.csv_rows(report)
    assert ["statement_1_before", "", "all series", "agree completely", "0.3000"] in rows
    assert ["statement_1_after", "", "all series", "neither", "hidden"] in rows
    assert ["statement_1_shift", "", "all series", "agree after minus before", "0.2000"] in rows
    text = "\n".join(figures.render_text(report, {1: "Culture"}))
    assert "+20 points" in text
    # each phase is a tally of its own: the same answers in another order give the same figures
    assert figures.build({1: "A"}, {1: FOUR}, list(reversed(after)) + before) == report


# --- Storage -----------------------------------------------------------------------------------


async def seated_man(db, series_id: int, address: str) -> None:
    async with db.transaction() as connection:
        man = (await connection.execute(insert(participants).values(
            channel="telegram", address=address, language="nl", consented_at=NOW, status="active"
        ))).inserted_primary_key[0]
        await connection.execute(insert(signups).values(series_id=series_id, participant_id=man, status="confirmed", created_at=NOW))


async def test_one_answer_per_man_and_phase_only_while_the_series_runs_and_delete_erases_his_marker(db, settings):
    series_id = await add_series(db)
    await seated_man(db, series_id, "8101")
    during = FIRST_MEETING + timedelta(minutes=10)
    poll = RecordStatements(series_id, "before", ((1, 1), (2, 2), (3, 3), (4, 0)))
    async with db.transaction() as connection:
        await domain.record(connection, settings, "telegram", "8101", poll, during)
        await domain.record(connection, settings, "telegram", "8101", poll, during)  # once only
        await domain.record(connection, settings, "telegram", "8999", poll, during)  # no seat: nothing
        assert await connection.scalar(select(func.count()).select_from(store.statement_pool)) == 1
        ends = await domain.closes_at(connection, series_id)
        late = RecordStatements(series_id, "after", poll.answers)
        await domain.record(connection, settings, "telegram", "8101", late, ends)  # the series is final
        assert await connection.scalar(select(func.count()).select_from(store.statement_pool)) == 1
        assert await store.closed_series(connection, ends - timedelta(seconds=1)) == {}
        assert list(await store.closed_series(connection, ends)) == [series_id]
        assert await connection.scalar(select(func.count()).select_from(statement_markers)) == 1
        await erasure.erase(connection, settings, "telegram", "8101", during)
        assert await connection.scalar(select(func.count()).select_from(statement_markers)) == 0
        assert await connection.scalar(select(func.count()).select_from(store.statement_pool)) == 1  # unlinked: stays
        assert [await store.flush(connection, ends), await store.flush(connection, ends)] == [1, 0]


def test_answers_in_progress_are_wiped_when_another_flow_takes_over():
    from dialogs import router
    from dialogs.types import ChoiceMade, Context, ParticipantView, StatementPoll

    man = ParticipantView(language="nl", name=None, area=None, status="active")
    poll = StatementPoll(3, "before", tuple((n, None) for n in FOUR), "open")
    ctx = Context(now=NOW, timezone="Europe/Amsterdam", organisation="Meedoen", areas=(), participant=man,
                  statement_poll=poll)
    step = router.handle({}, ChoiceMade("st:go:3:before", 0), ctx)
    step = router.handle(step.state, ChoiceMade("v:1", step.state["q"]), ctx)
    assert step.state["statements"]["answers"] == [1]
    step = router.handle(step.state, ChoiceMade("ck:go", 0), ctx)  # the check-in's offer
    assert step.state["flow"] == "checkin" and "statements" not in step.state
