"""Nothing a man sends is lost: a real ``meedoen run`` is killed with SIGKILL right after it
acknowledged a burst of messages (webhook answered 200, polled batch confirmed by the next
offset) and before it could handle them all; after a restart every man has his answer exactly
once, and nothing he wrote is left in ``inbound_updates``. Also: odd webhook bodies get a 4xx,
and /delete leaves no stored update of his behind."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from bot.store import inbound
from bot.store.schema import inbound_updates, outbox
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, free_port, running, telegram_settings
from tests.test_crash_safety import service_env, spawn
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    message_sid,
    post_signed,
    sign,
    twilio_api,
    whatsapp_settings,
)

MEN = 40
SECRET = "hook-secret_123"


async def stored(db) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(select(func.count()).select_from(inbound_updates))


async def uncertain(db) -> set[str]:
    async with db.transaction() as connection:
        return set(await connection.scalars(select(outbox.c.address).where(outbox.c.status == "uncertain")))


async def healthy(port: int, process, timeout: float = 30.0) -> None:
    """Wait until the service's HTTP app answers (it listens only once the service started)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the service did not come up")


async def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


async def restart_until_answered(env, cwd, answered, timeout: float = 60.0) -> None:
    """Run the service again until ``answered()``, then a little longer (a second copy would
    show), then stop it."""
    process = await spawn(env, cwd)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not answered():
            assert asyncio.get_running_loop().time() < deadline, "not every man got his answer"
            assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


def assert_exactly_once(copies: dict, maybe: set[str]) -> None:
    """One answer each; a reply whose request was in flight at the kill (``uncertain``, see
    ``bot.delivery.outbox``) at most one."""
    for address, count in copies.items():
        if str(address) in maybe:
            assert count <= 1, f"{address} got {count} answers"
        else:
            assert count == 1, f"{address} got {count} answers"


# --- Telegram ---------------------------------------------------------------------------------------


async def test_a_telegram_webhook_update_answered_200_survives_a_sigkill(settings, db, tmp_path):
    port = free_port()
    users = [300_000 + n for n in range(MEN)]
    async with FakeTelegram() as tg:
        env = service_env(settings, tg, MEEDOEN_PUBLIC_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET=SECRET)
        env["MEEDOEN_HTTP_PORT"] = str(port)
        for user in users:
            tg.add_user(user, first_name=f"User{user}", language_code="nl")
        process = await spawn(env, tmp_path)
        await healthy(port, process)
        await asyncio.gather(*(tg.send_command(user, "/start") for user in users))
        await kill(process)
        assert [status for _, status in tg.deliveries] == [200] * MEN
        assert await stored(db) > 0, "the kill came after everything was handled: nothing was tested"

        await restart_until_answered(env, tmp_path, lambda: all(tg.count_to(user) >= 1 for user in users))
        assert_exactly_once({user: tg.count_to(user) for user in users}, await uncertain(db))
        assert tg.violations == []
    assert await stored(db) == 0


async def test_a_polled_batch_confirmed_by_the_next_offset_survives_a_sigkill(settings, db, tmp_path):
    users = [400_000 + n for n in range(MEN)]
    async with FakeTelegram() as tg:
        env = service_env(settings, tg)
        for user in users:
            tg.add_user(user, first_name=f"User{user}", language_code="nl")
            await tg.send_command(user, "/start")  # queued for getUpdates
        process = await spawn(env, tmp_path)
        for _ in range(30_000):  # kill as soon as the next offset confirmed the batch
            if tg.unacknowledged == 0 or process.returncode is not None:
                break
            await asyncio.sleep(0.001)
        assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
        await kill(process)
        assert await stored(db) > 0, "the kill came after everything was handled: nothing was tested"

        await restart_until_answered(env, tmp_path, lambda: all(tg.count_to(user) >= 1 for user in users))
        assert_exactly_once({user: tg.count_to(user) for user in users}, await uncertain(db))
        assert tg.violations == []
    assert await stored(db) == 0


@pytest.mark.parametrize("body", ["[]", '"x"', "null", "3", "{}", '{"update_id": "a"}', '{"update_id": 1, "message": "x"}', "{", ""])
async def test_any_telegram_webhook_body_that_is_no_update_gets_a_400_and_a_log_line(tg, settings, db, body, caplog):
    port = free_port()
    configured = telegram_settings(
        settings, tg, public_url=f"http://127.0.0.1:{port}", telegram_webhook_secret=SECRET, http_port=port
    )
    async with running(configured, http=True):
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/telegram", content=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
            )
        assert response.status_code == 400
        assert any("telegram: webhook body is not an update" in r.getMessage() for r in caplog.records)
        chat = Chat(tg, 5200, language_code="nl")  # and the service still works
        await chat.command("/start")
    assert await stored(db) == 0


async def test_delete_leaves_no_stored_update_of_his(tg, settings, db):
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5300, language_code="en")
        await chat.command("/start")
        await chat.tap("lang:en")
        await chat.tap(chat.keys()[0])  # consent
        await chat.command("/delete")
        async with db.transaction() as connection:  # a later message of his, not handled yet
            await inbound.keep(connection, "telegram", [inbound.Stored("999999", "5300", '{"text": "hallo"}')], NOW)
        await chat.tap("erase")
        async with db.transaction() as connection:
            assert await connection.scalar(
                select(func.count()).select_from(inbound_updates).where(inbound_updates.c.address == "5300")
            ) == 0
    assert await stored(db) == 0


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


# --- WhatsApp (Twilio) ------------------------------------------------------------------------------


def whatsapp_env(settings, config, tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env.update(
        MEEDOEN_DATABASE_URL=settings.database_url,
        MEEDOEN_SECRET_KEY=settings.secret_key,
        MEEDOEN_HTTP_PORT=str(config.http_port),
        MEEDOEN_PUBLIC_URL=config.public_url,
        MEEDOEN_WHATSAPP_TEMPLATES=config.whatsapp_templates,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=SENDER,
        TWILIO_API_BASE_URL=config.twilio_api_base_url,
    )
    return env


def first_message(number: str) -> dict[str, str]:
    sid = message_sid()
    return {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Cabdi", "MessageType": "text", "SmsSid": sid,
        "WaId": number.removeprefix("+"), "SmsStatus": "received", "Body": "hallo", "To": SENDER,
        "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{number}", "ApiVersion": "2010-04-01",
    }


async def test_a_whatsapp_message_answered_200_survives_a_sigkill(settings, db, tmp_path, twilio_api):
    fake, prism = twilio_api
    fake.reset()
    fake.now = lambda: datetime.now(UTC)
    config = whatsapp_settings(settings, tmp_path, prism.url)
    env = whatsapp_env(settings, config, tmp_path)
    numbers = [f"+316{55_000_000 + n}" for n in range(MEN)]
    process = await spawn(env, tmp_path)
    await healthy(config.http_port, process)
    for number in numbers:
        fake.inbound(number)
    responses = await asyncio.gather(*(post_signed(config, "/whatsapp", first_message(n)) for n in numbers))
    await kill(process)
    assert [r.status_code for r in responses] == [200] * MEN
    assert await stored(db) > 0, "the kill came after everything was handled: nothing was tested"

    await restart_until_answered(env, tmp_path, lambda: all(fake.messages_to(n) for n in numbers))
    assert_exactly_once({n: len(fake.messages_to(n)) for n in numbers}, await uncertain(db))
    assert await stored(db) == 0
    assert fake.problems == []


ODD_FORMS = [
    {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+31612345678", "NumMedia": "²", "Body": "x"},
    {"MessageSid": "SM" + "2" * 32, "From": "whatsapp:+31612345678", "ButtonPayload": "9" * 400},
    {"MessageSid": "", "From": "whatsapp:+31612345678"},
    {"From": "sms:+31612345678", "MessageSid": "SM" + "3" * 32},
    {"Body": "\x00\ud7ff"},
]


@pytest.mark.parametrize("form", ODD_FORMS)
async def test_an_odd_signed_whatsapp_form_never_gets_a_500(settings, db, tmp_path, twilio_api, form):
    from tests.whatsapp_chat import Clock
    from tests.whatsapp_chat import running as whatsapp_running

    fake, prism = twilio_api
    fake.reset()
    config = whatsapp_settings(settings, tmp_path, prism.url)
    async with whatsapp_running(config, Clock()):
        response = await post_signed(config, "/whatsapp", form)
        assert response.status_code < 500
        response = await post_signed(config, "/whatsapp/status", form)
        assert response.status_code < 500


async def test_a_turn_takes_his_stored_update_only_when_none_stored_before_it_waits(db):
    """``inbound.take``, the check a turn makes on a database shared with other instances
    (docs/scaling.md, "His oldest update first"): his later update is refused while his
    earlier one waits, another man's updates do not count, and one no longer stored is
    refused; nothing is deleted by a refusal."""
    his = [inbound.Stored(str(n), "7001", f'{{"update_id": {n}}}') for n in (11, 12)]
    other = inbound.Stored("10", "7002", '{"update_id": 10}')
    async with db.transaction() as connection:
        await inbound.keep(connection, "telegram", [other, *his], NOW)
    async with db.transaction() as connection:
        assert not await inbound.take(connection, "telegram", "12")  # 11 is his, stored first
    assert await stored(db) == 3
    async with db.transaction() as connection:
        assert await inbound.take(connection, "telegram", "11")  # another man's 10 is no reason to wait
        assert await inbound.take(connection, "telegram", "12")
        assert not await inbound.take(connection, "telegram", "12")  # gone: handled already
    async with db.transaction() as connection:
        assert [s.update_id for s in await inbound.unhandled(connection, "telegram")] == ["10"]
