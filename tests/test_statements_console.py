"""The statements in `meedoen report` (text and CSV) and on the console's report page: the
same figures, built by the same function, shown once the group has ended."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import insert

from bot.analytics import report
from bot.store import report_data
from bot.store.schema import statement_responses
from tests.test_console import client, clock, log_in, service, tr  # noqa: F401 - fixtures
from tests.test_console_report import LATER, table_rows
from tests.test_telegram_signup import add_series

BEFORE = [(1, 2, 3, 4)] * 3 + [(2, 3, 4, 5)] * 3 + [(3, 4, 5, 0)] * 2 + [(4, 5, 0, 1)] * 2
AFTER = [(1, 1, 2, 2)] * 4 + [(2, 2, 3, 3)] * 4 + [(3, 3, 1, 1)] + [(4, 4, 1, 1)]


async def seed(db, series_id: int) -> None:
    rows = [
        {"id": secrets.token_hex(16), "series_id": series_id, "phase": phase, "iso_week": week,
         "answers": json.dumps(dict(zip(("1", "2", "3", "4"), values, strict=True)))}
        for phase, week, polls in (("before", "2026-W49", BEFORE), ("after", "2027-W02", AFTER))
        for values in polls
    ]
    async with db.transaction() as connection:
        await connection.execute(insert(statement_responses), rows)


async def test_the_report_and_the_console_show_the_statements_once_the_group_has_ended(service, client, clock):
    series_id = await add_series(service.db)
    await seed(service.db, series_id)
    built = await report_data.build_from(service.db, service.settings, service.now())
    assert not built.statements.has_figures()  # the group is still running: nothing final yet
    assert "Not shown yet" in report.render_text(built)

    clock.now = LATER
    built = await report_data.build_from(service.db, service.settings, LATER)
    text = report.render_text(built)
    assert "A man who supports his wife to work invests in the future of his whole family." in text
    assert "before (10 men) agree completely 30%, agree 30%, neither hidden, disagree 20%" in text
    assert "shift in agreement: +20 points" in text
    assert f"series {series_id} Mannen in gesprek:" in text
    csv_text = report.render_csv(built)
    assert "statement_1_shift,,all series,agree after minus before,0.2000" in csv_text
    assert "statement_1_after,,all series,neither,hidden" in csv_text

    await log_in(client, service)
    page = await client.get("/console/report")
    assert page.status_code == 200
    rows = table_rows(page, tr("nl", "All groups"))
    before = rows[f"1. {tr('nl', 'A man who supports his wife to work invests in the future of his whole family.')} · voor"]
    after = rows[f"1. {tr('nl', 'A man who supports his wife to work invests in the future of his whole family.')} · na"]
    assert before[:4] == ["10", "30%", "30%", tr("nl", "hidden")]
    assert after[-1] == "+20 procentpunt"
    assert table_rows(page, "Mannen in gesprek")  # one group, the rest is nobody: shown apart too
