"""The report at scale: 1,000,000 check-in responses → the full report (text and PNG) in at
most 3 seconds on 2 cores. Filling the database takes longer than the report, so this runs
only when asked: ``MEEDOEN_BENCH=1 .venv/bin/python -m pytest tests/test_report_benchmark.py -s``.
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from bot import report
from bot.report_chart import render_png

pytestmark = pytest.mark.skipif(os.environ.get("MEEDOEN_BENCH") != "1", reason="set MEEDOEN_BENCH=1")

RESPONSES = 1_000_000
LIMIT = 3.0

FILL = f"""
INSERT INTO checkin_responses (id, iso_week, language, area, item1, item2, item3, item4, item5,
  item6, emotional, social, total, took_part, worthwhile)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {RESPONSES} - 1),
r AS (SELECT abs(random()) AS a, abs(random()) AS b FROM n)
SELECT lower(hex(randomblob(16))),
  printf('%d-W%02d', 2025 + (a % 2), 1 + (a / 7) % 52),
  CASE a % 4 WHEN 0 THEN 'nl' WHEN 1 THEN 'ar' WHEN 2 THEN 'so' ELSE 'en' END,
  CASE b % 5 WHEN 0 THEN 'Osdorp' WHEN 1 THEN 'Slotervaart' WHEN 2 THEN 'Geuzenveld-Slotermeer'
    WHEN 3 THEN 'De Aker/Sloten/Nieuw-Sloten' ELSE NULL END,
  b % 3, (b / 3) % 3, (b / 9) % 3, (b / 27) % 3, (b / 81) % 3, (b / 243) % 3,
  (b % 3 < 2) + ((b / 3) % 3 < 2) + ((b / 9) % 3 < 2),
  ((b / 27) % 3 > 0) + ((b / 81) % 3 > 0) + ((b / 243) % 3 > 0),
  (b % 3 < 2) + ((b / 3) % 3 < 2) + ((b / 9) % 3 < 2)
    + ((b / 27) % 3 > 0) + ((b / 81) % 3 > 0) + ((b / 243) % 3 > 0),
  (a / 11) % 2, (a / 13) % 11
FROM r
"""


async def test_a_million_responses_in_three_seconds(db, settings):
    async with db.transaction() as connection:
        await connection.execute(text(FILL))
    render_png(await _small(db, settings))  # matplotlib's first figure loads its fonts once
    start = time.perf_counter()
    built = await report.build_from(db, settings)
    built_at = time.perf_counter()
    out = report.render_text(built)
    png = render_png(built)
    done = time.perf_counter()
    print(f"\nbuild {built_at - start:.2f} s, text and PNG {done - built_at:.2f} s, total {done - start:.2f} s")
    assert built.figures[report.ALL].respondents == RESPONSES
    assert out and png.startswith(b"\x89PNG")
    assert done - start <= LIMIT


async def _small(db, settings):
    async with db.transaction() as connection:
        return await report.build(connection, settings)
