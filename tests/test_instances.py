"""Three real ``meedoen run`` processes on one PostgreSQL, behind one webhook URL, against the
Telegram stand-in (docs/scaling.md).

- 50 men sign up by typing, each sending his six messages one after another without waiting
  for the answers, round robin over the three instances (his next message mostly to another
  instance than the last). Every man gets every answer once, each the answer to the question
  he was at: had two of his messages been handled at once or out of order, he would have been
  told to choose a button, greeted twice or asked again. His final state is right.
  For one man in five, his first message was stored by an instance that died before it could
  handle it: the instance that gets his second message handles the first one first.
- Reminders falling due while three instances start at once go out once to each man.

No wall-clock assertions: the waits only bound how long a broken build may hang.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock_time

import httpx
from sqlalchemy import func, select

from bot.store import inbound
from bot.store import participants as participant_store
from bot.store import series as series_store
from bot.store.database import Database
from bot.store.schema import conversations, inbound_updates, outbox, participants, signups
from tests import sealed
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import free_port
from tests.test_crash_safety import service_env, spawn
from tests.test_inbound_durable import healthy

INSTANCES = 3
MEN = 50
SECRET = "turns-secret_123"
NAME = "Karim"
# His whole sign-up, typed: the language, yes to the privacy terms, his name, the first
# series on offer, the first area.
MESSAGES = ["/start", "Nederlands", "ja", NAME, "1", "1"]


class Instances:
    """Three ``meedoen run`` processes sharing one database, each on its own port; updates
    are POSTed to them as Telegram would to the one public URL of a load balancer."""

    def __init__(self, settings, tg: FakeTelegram, cwd, **extra: str) -> None:
        self.ports = [free_port() for _ in range(INSTANCES)]
        self.envs = []
        for port in self.ports:
            env = service_env(
                settings, tg, MEEDOEN_PUBLIC_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET=SECRET,
                MEEDOEN_TELEGRAM_CHAT_INTERVAL="0.05", **extra,
            )
            env["MEEDOEN_HTTP_PORT"] = str(port)
            self.envs.append(env)
        self.cwd = cwd
        self.processes: list[asyncio.subprocess.Process] = []
        self.client = httpx.AsyncClient(timeout=30.0)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    async def __aenter__(self) -> Instances:
        self.processes = list(await asyncio.gather(*(spawn(env, self.cwd) for env in self.envs)))
        try:
            await asyncio.gather(*(healthy(port, process) for port, process in zip(self.ports, self.processes, strict=True)))
        except BaseException:  # one did not come up: stop the others, or they outlive the test
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.client.aclose()
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await process.wait()

    def alive(self) -> None:
        for process in self.processes:
            assert process.returncode is None, f"an instance stopped with {process.returncode}"

    def update(self, user: int, text: str) -> dict:
        """The update of his typing ``text``."""
        message = {
            "message_id": next(self._message_ids),
            "from": {"id": user, "is_bot": False, "first_name": f"User{user}", "language_code": "nl"},
            "chat": {"id": user, "type": "private", "first_name": f"User{user}"},
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}

    async def say(self, instance: int, user: int, text: str) -> None:
        """He types ``text``; the update reaches ``instance`` (answered 200 once stored)."""
        response = await self.client.post(
            f"http://127.0.0.1:{self.ports[instance]}/telegram",
            json=self.update(user, text),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200


async def settled(db: Database, instances: Instances, timeout: float = 120.0) -> None:
    """Wait until every stored update is handled and every queued message went out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        instances.alive()
        async with db.transaction() as connection:
            kept = await connection.scalar(select(func.count()).select_from(inbound_updates))
            going = await connection.scalar(
                select(func.count()).where(outbox.c.status.in_(("pending", "claimed", "sending")))
            )
        if kept == 0 and going == 0:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{kept} updates kept, {going} messages going"
        await asyncio.sleep(0.1)


def texts(tg: FakeTelegram, user: int) -> list[str]:
    """What he was sent; the seats left, which fall as the others sign up, as "N"."""
    return [re.sub(r"\d+ plekken", "N plekken", message.get("text", "")) for message in tg.messages_to(user)]


async def test_fifty_men_chatting_across_three_instances_get_every_answer_in_order(postgres_url, tmp_path):
    from bot.config import Settings

    settings = Settings(database_url=postgres_url, secret_key=sealed.SECRET_KEY)
    db = Database(postgres_url, seal=sealed.SEAL)  # reads the men's conversation states, which are sealed
    await db.upgrade()
    new = series_store.NewSeries("Mannen in gesprek", 3, clock_time(19, 0), date(2027, 1, 7), 6, 200, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", NOW)
    try:
        async with FakeTelegram() as tg, Instances(settings, tg, tmp_path) as instances:
            # One man first, each message only after its answers: what every man should get.
            reference = 900_000
            for number, text in enumerate(MESSAGES):
                await instances.say(number % INSTANCES, reference, text)
                await settled(db, instances)
            expected = texts(tg, reference)
            assert NAME in expected[-1] or any("Mannen in gesprek" in text for text in expected[-2:])

            async def chat(man: int) -> None:
                user = 100_000 + man
                for number, text in enumerate(MESSAGES):  # each stored before the next is sent
                    if number == 0 and man % 5 == 0:
                        # Stored by an instance that died before handling it: whichever
                        # instance gets his next message handles this one first.
                        update = instances.update(user, text)
                        async with db.transaction() as connection:
                            kept = inbound.Stored(str(update["update_id"]), str(user), json.dumps(update))
                            await inbound.keep(connection, "telegram", [kept], datetime.now(UTC))
                        continue
                    await instances.say((man + number) % INSTANCES, user, text)

            await asyncio.gather(*(chat(man) for man in range(MEN)))
            await settled(db, instances)
            users = [100_000 + man for man in range(MEN)]
            received = {user: texts(tg, user) for user in users}
            assert tg.violations == []
        async with db.transaction() as connection:
            states = dict(
                (await connection.execute(select(conversations.c.address, conversations.c.state))).all()
            )
            men = {
                row.address: row
                for row in await connection.execute(
                    select(participants.c.address, participants.c.language, participants.c.name, participants.c.area, signups.c.series_id, signups.c.status)
                    .join(signups, signups.c.participant_id == participants.c.id)
                )
            }
    finally:
        await db.close()
    wrong = {user: got for user, got in received.items() if Counter(got) != Counter(expected)}
    assert not wrong, f"{len(wrong)} men got other answers, e.g. {next(iter(wrong.items()))}"
    out_of_order = [user for user, got in received.items() if got != expected]
    assert not out_of_order, f"{len(out_of_order)} men got their answers in another order: {[t[:20] for t in received[out_of_order[0]]]}"
    reference_state = json.loads(states[str(reference)])
    for user in users:
        man = men[str(user)]
        assert (man.language, man.name, man.series_id, man.status) == ("nl", NAME, series_id, "confirmed")
        assert man.area == men[str(reference)].area is not None
        assert json.loads(states[str(user)]) == reference_state


async def test_reminders_with_three_instances_go_out_once(postgres_url, tmp_path):
    from bot.config import Settings

    settings = Settings(database_url=postgres_url, secret_key="test-secret-key-0123456789")
    db = Database(postgres_url)
    await db.upgrade()
    users = [700_000 + n for n in range(300)]
    now = datetime.now(UTC)
    start = (now + timedelta(minutes=40)).astimezone(timezone(timedelta(hours=1)))
    new = series_store.NewSeries(
        "Mannen in gesprek", start.weekday(), start.time().replace(second=0, microsecond=0, tzinfo=None),
        start.date(), 1, 1000, "Huis van de Wijk", "Osdorp",
    )
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", now)
        for user in users:
            man = await participant_store.create(connection, "telegram", str(user), "nl", now)
            await series_store.sign_up(connection, man, series_id, waitlist=False, now=now)
    try:
        async with FakeTelegram() as tg, Instances(settings, tg, tmp_path, MEEDOEN_REMINDERS="1h", MEEDOEN_TELEGRAM_RATE="500") as instances:
            await tg.wait_for(lambda: all(tg.count_to(user) >= 1 for user in users), timeout=120)
            await settled(db, instances)
            copies = Counter(tg.count_to(user) for user in users)
            assert tg.violations == []
        async with db.transaction() as connection:
            rows = await connection.scalar(select(func.count()).where(outbox.c.kind == "reminder"))
    finally:
        await db.close()
    assert copies == Counter({1: len(users)})
    assert rows == len(users)
