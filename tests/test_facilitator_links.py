"""A facilitator's own invite link and flyers (issue 16 §4), end to end on Telegram (the local
Bot API stand-in), a real SQLite file and the real catalogs: /flyer in his chat gives flyers
whose QR codes carry his own source, a man who signs up through it counts for that source,
coordinators read that source as his; another series' flyers are refused; a living-room
talk's approval brings him its link, and its flyer keeps the place to itself."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from bot.app.cli import main
from bot.channels import callback_data
from bot.domain import facilitation, flyers, invites
from bot.store import facilitators as facilitator_store
from bot.store import series as series_store
from bot.store.schema import invite_markers, series
from dialogs.types import LANGUAGES
from tests.telegram_chat import Chat, running
from tests.test_console import client, clock, log_in, service  # noqa: F401 - fixtures
from tests.test_facilitators import MEETING, Clock, configured, in_, one, tg, two_series  # noqa: F401 - tg fixture
from tests.test_flyers import FIRST, SERIES, config, decoded, environment  # noqa: F401 - fixtures

BEFORE = MEETING - timedelta(days=5)  # both series open, their first meeting ahead


def own_source(settings, address: str) -> str:
    return invites.facilitator_source(settings.secret_key.encode(), "telegram", address)


def photos_to(tg, user_id: int) -> list[dict]:
    return [c.params for c in tg.calls if c.method == "sendPhoto" and str(c.params["chat_id"]) == str(user_id)]


async def counted(db, series_id: int) -> dict[str, tuple[int, int]]:
    async with db.transaction() as connection:
        return {source: (n, came) for source, n, came in await invites.counts(connection, series_id)}


async def _cli(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


def test_his_source_is_stable_keyed_and_shows_nothing_of_his_address():
    key = b"test-secret-key-0123456789"
    label = invites.facilitator_source(key, "whatsapp", "+31612345678")
    assert re.fullmatch(r"leider-[0-9a-f]{8}", label) and invites.check_source(label) == label
    assert label == invites.facilitator_source(key, "whatsapp", "+31612345678")  # the same every time
    assert "612345678" not in label and "+31" not in label
    assert label != invites.facilitator_source(key, "whatsapp", "+31612345679")  # another man
    assert label != invites.facilitator_source(b"another-key-0123456789", "whatsapp", "+31612345678")  # keyed
    assert label != invites.facilitator_source(key, "telegram", "+31612345678")


async def test_his_flyers_carry_his_source_and_a_sign_up_through_them_counts_for_him(tg, settings, db):
    ids = await two_series(db)
    mine = own_source(settings, "7001")
    code = invites.code(settings.secret_key.encode(), ids["a"], mine)
    link = f"https://t.me/meedoen_test_bot?start={code}"
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        leader = Chat(tg, 7001, language_code="nl")
        help_text = (await leader.command("/help"))["text"]
        assert in_("nl", "/flyer – flyers and your own invite link for your group") in help_text
        coming = await leader.command("/flyer")  # one group of his: no question, the flyers come
        assert coming["text"] == in_("nl", "Making the flyers, one for each language. They will be here in a moment.")
        assert not leader.keys(coming)
        await tg.wait_for(lambda: len(photos_to(tg, 7001)) == len(LANGUAGES) and link in leader.last.get("text", ""), timeout=30)
        assert [decoded(photo["photo"].data) for photo in photos_to(tg, 7001)] == [{link}] * len(LANGUAGES)
        how, invitation = leader.messages[-2:]
        assert how["text"] == in_(
            "nl", "Forward the next message to men you know, or send them a flyer. Everyone who signs up "
            "through your link or flyer is counted for you.",
        )
        assert invitation["text"] == in_(
            "nl", "Hello! I lead %(series)s, conversations for men. You are welcome too. Sign up here: %(link)s",
            series="Mannen in gesprek", link=link,
        )

        # a man he invites scans the code (the link's /start) and signs up
        man = Chat(tg, 8301, language_code="nl")
        await man.command(f"/start {code}")
        await man.tap("lang:nl")
        await man.tap("yes")
        await man.tap("skip")
        assert man.keys()[0] == f"s:{ids['a']}"  # his series first
        await man.tap(f"s:{ids['a']}")
        await man.tap("a:1")
    assert await counted(db, ids["a"]) == {mine: (1, 0)}


async def test_coordinators_read_his_source_as_his(environment, db, capsys):
    ids = await two_series(db)
    secret = b"test-secret-key-0123456789"  # MEEDOEN_SECRET_KEY of ``environment``
    mine = invites.facilitator_source(secret, "telegram", "7001")
    async with db.transaction() as connection:
        await invites.count_signup(connection, secret, "telegram", "8301", invites.Invite(ids["a"], mine))
        await invites.count_signup(connection, secret, "telegram", "8302", invites.Invite(ids["a"], "buurthuis"))
    assert await _cli(["facilitator", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"telegram:7001  source {mine}  series {ids['a']}: Mannen in gesprek" in listed
    assert "telegram:7002  source leider-" in listed
    assert await _cli(["invite", "--series", str(ids["a"]), "--counts"]) == 0
    counts = capsys.readouterr().out
    assert re.search(rf"{mine}\s+1 signed up,\s+0 came  \(facilitator telegram:7001\)", counts)
    assert re.search(r"buurthuis\s+1 signed up,\s+0 came\n", counts)  # a source of nobody's


async def test_the_console_shows_his_source_as_his(service, client):  # noqa: F811 - fixtures
    ids = await two_series(service.db)
    secret = service.settings.secret_key.encode()
    mine = invites.facilitator_source(secret, "telegram", "7002")  # B's facilitator, who reads Arabic
    async with service.db.transaction() as connection:
        await invites.count_signup(connection, secret, "telegram", "8301", invites.Invite(ids["b"], mine))
    await log_in(client, service)
    page = (await client.get(f"/console/series/{ids['b']}")).text
    assert mine in page and in_("nl", "facilitator %(who)s", who="telegram:7002") in page


async def test_a_facilitator_gets_no_flyers_of_another_series(tg, settings, db):
    ids = await two_series(db)
    secret = settings.secret_key.encode()
    async with db.transaction() as connection:  # he has two groups now: /flyer asks which
        third = await series_store.add(
            connection,
            series_store.NewSeries("Derde groep", 4, datetime(2026, 1, 1, 19).time(), MEETING.date(), 2, 10, "", ""),
            "Europe/Amsterdam", BEFORE - timedelta(days=1),
        )
        await facilitator_store.add(connection, "telegram", "7001", third, BEFORE)
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        leader = Chat(tg, 7001, language_code="nl")
        question = await leader.command("/flyer")
        assert leader.keys(question) == [f"co:f:{ids['a']}", f"co:f:{third}"]  # not B
        q = int(question["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split("|")[0])
        # a modified client, with a valid signature even (as if the secret leaked): B's flyers
        refused = await leader.forge(question, callback_data.encode(secret, "7001", q, f"co:f:{ids['b']}"))
        assert in_("nl", "Sorry, that choice is no longer available.") in refused["text"]
        await asyncio.sleep(0.5)
        assert photos_to(tg, 7001) == []
    async with db.transaction() as connection:  # and the engine's own check, past the dialog
        assert await facilitation.flyer_source(connection, settings, "telegram", "7001", ids["b"]) is None
        assert await facilitation.flyer_source(connection, settings, "telegram", "7001", third) == own_source(settings, "7001")
        # a coordinator (also when he facilitates): any series, and no source
        await facilitator_store.add(connection, "telegram", "9001", ids["b"], BEFORE)
        assert await facilitation.flyer_source(connection, settings, "telegram", "9001", ids["a"]) == ""


async def test_a_coordinator_who_facilitates_keeps_every_series_and_no_source(tg, settings, db):
    ids = await two_series(db)
    async with db.transaction() as connection:
        await facilitator_store.add(connection, "telegram", "9001", ids["b"], BEFORE)
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        boss = Chat(tg, 9001, language_code="nl")
        question = await boss.command("/flyer")
        assert boss.keys(question) == [f"co:f:{ids['a']}", f"co:f:{ids['b']}"]
        await boss.tap(f"co:f:{ids['b']}")
        await tg.wait_for(lambda: len(photos_to(tg, 9001)) == len(LANGUAGES), timeout=30)
        await asyncio.sleep(0.3)
    plain = f"https://t.me/meedoen_test_bot?start={invites.code(settings.secret_key.encode(), ids['b'])}"
    assert [decoded(photo["photo"].data) for photo in photos_to(tg, 9001)] == [{plain}] * len(LANGUAGES)
    assert not any("leider-" in m.get("text", "") for m in boss.messages)


async def test_an_approved_living_room_talk_brings_him_a_working_link(tg, settings, db, tmp_path, monkeypatch, capsys):
    await two_series(db)
    clock = Clock(BEFORE)
    mine = own_source(settings, "7001")
    async with running(configured(settings, tg), now=clock):
        leader = Chat(tg, 7001, language_code="nl")
        await leader.command("/livingroom")
        await leader.say("17-11")
        await leader.say("19.30")
        await leader.say("Kerkstraat 5, Osdorp")
        await leader.tap("lr:c:6")
        await leader.tap("lr:send")
        boss = Chat(tg, 9001, language_code="nl")
        await tg.wait_for(lambda: any(key.startswith("lr:") for m in boss.messages for key in boss.keys(m)))
        await boss.tap(next(key for m in boss.messages for key in boss.keys(m) if key.startswith("lr:")))
        await tg.wait_for(lambda: any("?start=" in m["text"] for m in leader.messages))
        approved = next(m for m in leader.messages if "?start=" in m["text"])
        assert approved["text"].startswith(in_("nl", "Good news: your living-room talk on %(when)s is approved and open for sign-up.", when="x")[:12])
        assert "Kerkstraat" not in approved["text"]
        code = re.search(r"\?start=(\S+)", approved["text"])[1]
        [talk] = await one(db, select(series.c.id).where(series.c.name == "Huiskamergesprek"))
        assert invites.read(settings.secret_key.encode(), code) == invites.Invite(talk.id, mine)

        # the link works: a man signs up through it, and it counts for him
        man = Chat(tg, 8301, language_code="nl")
        await man.command(f"/start {code}")
        await man.tap("lang:nl")
        await man.tap("yes")
        await man.tap("skip")
        assert man.keys()[0] == f"s:{talk.id}"
        await man.tap(f"s:{talk.id}")
        confirmation = await man.tap("a:0")
        assert "Kerkstraat 5, Osdorp" in confirmation["text"]  # the place: once he has signed up

        # his /flyer now offers both his groups; the talk's flyer has his link and no place
        question = await leader.command("/flyer")
        assert f"co:f:{talk.id}" in leader.keys(question)
    assert await counted(db, talk.id) == {mine: (1, 0)}

    async with db.transaction() as connection:
        [flyer] = await flyers.for_series(connection, settings, talk.id, source=mine, now=BEFORE, languages=("nl",))
        row = await series_store.get(connection, talk.id)
    link = f"https://t.me/meedoen_test_bot?start={code}"
    assert decoded(flyer.png) == {link}
    content = flyers.contents(settings, row, datetime(2026, 11, 17, 18, 30, tzinfo=UTC), "meedoen_test_bot", mine, "nl")
    assert content.place == "" and content.when.startswith("Eenmalig, op ")

    # ... and `meedoen invite` / `meedoen flyer` take it like any series
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEEDOEN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEEDOEN_SECRET_KEY", settings.secret_key)
    assert await _cli(["invite", "--series", str(talk.id), "--source", mine]) == 0
    assert code in capsys.readouterr().out
    out = tmp_path / "flyers"
    assert await _cli(["flyer", "--series", str(talk.id), "--lang", "nl", "--source", mine, "--out", str(out)]) == 0
    assert decoded((out / f"flyer-{talk.id}-{mine}-nl.png").read_bytes()) == {link}


def test_a_private_place_stays_off_the_flyer(config):  # noqa: F811 - fixture
    public = flyers.contents(config, SERIES, FIRST, "meedoen_bot", "", "en")
    assert public.place == "Huis van de Wijk Osdorp" and public.when.startswith("Every Thursday")
    talk = SimpleNamespace(**{**vars(SERIES), "place_private": 1, "meeting_count": 1})
    for language in LANGUAGES:
        content = flyers.contents(config, talk, FIRST, "meedoen_bot", "", language)
        assert content.place == ""
        assert "Huis van de Wijk" not in repr(content)
    assert flyers.contents(config, talk, FIRST, "meedoen_bot", "", "en").when == "Once, on 3\u00a0December\u00a02026 at 19:00"


async def test_his_counts_stop_being_his_when_he_uses_delete(tg, settings, db):
    ids = await two_series(db)
    secret = settings.secret_key.encode()
    his = own_source(settings, "7002")
    yusuf = invites.marker(secret, "telegram", "8201", ids["b"])
    async with db.transaction() as connection:
        for address in ("8301", "8302"):
            await invites.count_signup(connection, secret, "telegram", address, invites.Invite(ids["b"], his))
        await invites.count_signup(connection, secret, "telegram", "8201", invites.Invite(ids["b"], his))
        await invites.count_signup(connection, secret, "telegram", "8303", invites.Invite(ids["a"], his))
        await invites.count_signup(  # an earlier facilitator's, erased before
            connection, secret, "telegram", "8304", invites.Invite(ids["b"], invites.ERASED_FACILITATOR)
        )
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        arab = Chat(tg, 7002, language_code="ar")
        await arab.command("/delete")
        await arab.tap(next(key for key in arab.keys() if key != "no"))
    assert await counted(db, ids["b"]) == {invites.ERASED_FACILITATOR: (4, 0)}
    assert await counted(db, ids["a"]) == {invites.ERASED_FACILITATOR: (1, 0)}
    # a man who came through his link and comes to the meeting afterwards still counts
    async with db.transaction() as connection:
        await invites.mark_attendance(connection, secret, ids["men"]["Yusuf"], ids["b_meetings"][0], True, MEETING)
        assert yusuf not in [row.marker for row in await connection.execute(select(invite_markers))]
    assert await counted(db, ids["b"]) == {invites.ERASED_FACILITATOR: (4, 1)}
