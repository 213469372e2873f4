"""`meedoen statement add/list` and `meedoen series statements`: one-sentence refusals with exit
status 2, and every change in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from bot.store import statements as store
from bot.store.schema import audit_log
from tests.test_cli import meedoen

TEXTS = ("--nl", "Een vader mag om hulp vragen.", "--ar", "يحق للأب أن يطلب المساعدة.",
         "--so", "Aabbuhu wuu weydiin karaa caawimo.", "--en", "A father may ask for help.")


async def test_statements_are_added_listed_and_chosen_and_each_change_is_audited(database_url, db):
    meedoen(database_url, "series", "add", "--name", "Vaders", "--weekday", "thu", "--time", "19:00",
            "--start", "2030-12-05", "--meetings", "3")
    meedoen(database_url, "series", "add", "--name", "Zonen", "--weekday", "fri", "--time", "19:00",
            "--start", "2030-12-06", "--meetings", "3")
    added = meedoen(database_url, "statement", "add", *TEXTS)
    assert added.returncode == 0 and added.stdout.strip() == "5"
    listed = meedoen(database_url, "statement", "list")
    assert listed.returncode == 0
    assert "1\tA man who supports his wife to work invests in the future of his whole family." in listed.stdout
    assert "5\tA father may ask for help." in listed.stdout
    chosen = meedoen(database_url, "series", "statements", "1", "--use", "2,5,1")
    assert chosen.returncode == 0, chosen.stderr
    async with db.transaction() as connection:
        assert await store.of_series(connection, 1) == [2, 5, 1]
        # the report reads every closed series at once; one without a choice uses the shipped four
        assert await store.of_each_series(connection, [2, 1]) == {2: [1, 2, 3, 4], 1: [2, 5, 1]}
        assert (await store.added(connection))[5]["ar"] == "يحق للأب أن يطلب المساعدة."
        entries = [(row.action, row.detail) for row in await connection.execute(select(audit_log).order_by(audit_log.c.id))]
    assert entries[2:] == [("statement.add", "statement 5"), ("series.statements", "series 1: 2,5,1")]


def test_mistakes_are_one_sentence_with_exit_status_2(database_url):
    meedoen(database_url, "series", "add", "--name", "Vaders", "--weekday", "thu", "--time", "19:00",
            "--start", "2030-12-05", "--meetings", "3")
    for args, sentence in (
        (("series", "statements", "1", "--use", "1,7"), "There is no statement 7; `meedoen statement list` shows them."),
        (("series", "statements", "9", "--use", "1"), "There is no series 9; `meedoen series list` shows them."),
        (("series", "statements", "1", "--use", "1,x"), "'1,x' is not a list of statement numbers; write it like 1,3,5."),
        (("series", "statements", "1", "--use", "1,1"), "Give each statement once, e.g. --use 1,3,5."),
        (("statement", "add", "--nl", " ", *TEXTS[2:]), "The statement needs a text in every language; give --nl a text."),
    ):
        result = meedoen(database_url, *args)
        assert result.returncode == 2 and result.stderr == f"meedoen: {sentence}\n", (args, result.stderr)
