"""Tests of the fake Telegram Bot API, driven mostly through python-telegram-bot's real HTTP stack."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler

from tests.fakes.telegram_api import FakeTelegram, UploadedFile, load_spec

USER = 4242


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(tg.token, base_url=tg.base_url) as client:
        yield client


@pytest.fixture
async def http(tg: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{tg.base_url}{tg.token}/") as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])


# -- python-telegram-bot round trips ----------------------------------------------------------


async def test_get_me_is_a_complete_bot_user(tg: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "meedoen_test_bot"
    assert me.can_join_groups is True
    assert tg.calls[-1].method == "getMe"
    assert tg.violations == []


async def test_send_edit_press_and_answer(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.add_user(USER, first_name="Ahmed", language_code="ar")
    await tg.send_command(USER, "/start")  # the user's message takes message_id 1

    sent = await bot.send_message(USER, "Welkom! Kies een taal.", reply_markup=keyboard("nl", "ar"))
    assert sent.message_id == 2
    assert sent.chat.id == USER and sent.chat.type == "private" and sent.chat.first_name == "Ahmed"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert abs(sent.date.timestamp() - time.time()) < 5  # seconds, not milliseconds
    assert sent.reply_markup == keyboard("nl", "ar")

    call = tg.calls[-1]
    assert call.method == "sendMessage" and call.params["chat_id"] == USER
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "nl"
    [recorded] = tg.messages_to(USER)
    assert recorded["method"] == "sendMessage" and recorded["text"] == "Welkom! Kies een taal."

    update = await tg.press(USER, recorded, "ar")
    query = telegram.Update.de_json(update, bot).callback_query
    assert query is not None and query.data == "ar" and query.chat_instance
    assert query.message is not None and query.message.message_id == 2
    assert await bot.answer_callback_query(query.id, text="Gekozen") is True

    edited = await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("ok"))
    assert isinstance(edited, telegram.Message) and edited.reply_markup == keyboard("ok")
    assert tg.messages_to(USER)[0]["reply_markup"] == keyboard("ok").to_dict()
    with pytest.raises(AssertionError, match="no button 'ar'"):
        await tg.press(USER, recorded, "ar")  # the old keyboard is gone

    edited = await bot.edit_message_text("Dank je.", USER, sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "Dank je."
    assert edited.reply_markup is None and edited.edit_date is not None
    assert tg.count_to(USER) == 1
    assert tg.violations == []


async def test_commands_are_stored_per_scope_and_language(tg: FakeTelegram, bot: telegram.Bot) -> None:
    nl = [BotCommand("start", "Begin"), BotCommand("stop", "Stoppen")]
    assert await bot.set_my_commands(nl, language_code="nl") is True
    ar = [BotCommand("start", "ابدأ")]
    scope = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(ar, scope=scope, language_code="ar") is True

    assert await bot.get_my_commands(language_code="nl") == tuple(nl)
    assert await bot.get_my_commands(scope=scope, language_code="ar") == tuple(ar)
    assert await bot.get_my_commands(language_code="ar") == ()
    assert tg.violations == []

    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start-Now", "x")])
    assert len(tg.violations) == 1


async def test_menu_for_resolves_scopes_as_telegram_documents(tg: FakeTelegram, bot: telegram.Bot) -> None:
    """Chat scope before all private chats before the default; his language before none."""
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "Begin")], scope=BotCommandScopeAllPrivateChats(), language_code="nl")
    chat = [BotCommand("rsvps", "Wie komt er"), BotCommand("start", "Begin")]
    await bot.set_my_commands(chat, scope=BotCommandScopeChat(USER))
    assert [c["description"] for c in tg.menu_for(5, "nl")] == ["Begin"]
    assert [c["description"] for c in tg.menu_for(5, "so")] == ["Start"]
    assert [c["command"] for c in tg.menu_for(USER, "nl")] == ["rsvps", "start"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(USER))
    assert [c["description"] for c in tg.menu_for(USER, "nl")] == ["Begin"]
    assert tg.violations == []


async def test_send_photo_uploads_bytes_as_multipart(tg: FakeTelegram, bot: telegram.Bot) -> None:
    data = bytes(range(256)) * 40
    message = await bot.send_photo(USER, data, caption="De buurtkamer")
    assert message.photo and message.caption == "De buurtkamer"
    upload = tg.calls[-1].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.data == data
    assert tg.sent[-1]["method"] == "sendPhoto"

    document = await bot.send_document(USER, b"%PDF-1.4", filename="flyer.pdf")
    assert document.document is not None and document.document.file_name == "flyer.pdf"

    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(USER, data, caption="x" * 1025)
    assert len(tg.violations) == 1


async def test_other_methods_get_valid_replies(tg: FakeTelegram, bot: telegram.Bot) -> None:
    assert await bot.send_chat_action(USER, "typing") is True
    assert await bot.set_chat_menu_button(USER, MenuButtonCommands()) is True
    assert await bot.get_chat_menu_button(USER) == MenuButtonCommands()
    location = await bot.send_location(USER, latitude=52.37, longitude=4.84)  # generic send
    assert location.chat.id == USER and location.message_id == 1
    assert await bot.delete_message(USER, location.message_id) is True
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER, location.message_id)
    chat = await bot.get_chat(USER)
    assert chat.id == USER and chat.type == "private"
    assert len(tg.violations) == 1 and "message to delete not found" in tg.violations[0]


def test_generic_replies_satisfy_the_spec() -> None:
    spec = load_spec()
    for method in spec.methods.values():
        for returned in method.returns:
            spec.validate_object(returned, spec.minimal(returned))


# -- validation --------------------------------------------------------------------------------


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{tg.base_url}999:WRONG/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        response = await client.post(f"{tg.base_url}{tg.token}/sendTelegram")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_unknown_field_is_rejected(tg: FakeTelegram, http: httpx.AsyncClient) -> None:
    response = await http.post("sendMessage", data={"chat_id": "1", "text": "hoi", "colour": "red"})
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ") and '"colour"' in body["description"]
    assert len(tg.violations) == 1 and "colour" in tg.violations[0]
    assert tg.calls == [] and tg.sent == []


async def test_missing_required_field_is_rejected(tg: FakeTelegram, http: httpx.AsyncClient) -> None:
    response = await http.post("sendMessage", data={"chat_id": "1"})
    assert response.status_code == 400
    assert 'required field "text"' in response.json()["description"]
    assert len(tg.violations) == 1


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"chat_id": "1", "text": "hi", "disable_notification": "maybe"}, "must be a Boolean"),
        ({"chat_id": "1", "text": "hi", "reply_markup": "{not json"}, "can't parse"),
        ({"chat_id": "1", "text": "hi", "reply_markup": '{"inline_keyboard": [[{"text": "a"}]]}'},
         "exactly one action"),
        ({"chat_id": "1", "text": "hi", "reply_markup": '{"inline_keyboard": [[{"text": "a", '
          '"callback_data": "x", "colour": 1}]]}'}, 'unknown field "colour"'),
        ({"chat_id": "1", "text": " "}, "message text is empty"),
        ({"chat_id": "1", "text": "x" * 4097}, "message is too long"),
        ({"commands": '[{"command": "start"}]'}, 'field "description" is required'),
        ({"commands": "[]", "scope": '{"type": "everyone"}'}, "unsupported BotCommandScope"),
    ],
)
async def test_invalid_values_are_rejected(
    tg: FakeTelegram, http: httpx.AsyncClient, params: dict[str, str], reason: str
) -> None:
    method = "setMyCommands" if "commands" in params else "sendMessage"
    response = await http.post(method, data=params)
    assert response.status_code == 400
    assert reason in response.json()["description"]
    assert len(tg.violations) == 1


async def test_callback_data_is_limited_to_64_bytes(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.send_message(USER, "ok", reply_markup=keyboard("é" * 32))  # 64 bytes
    assert tg.violations == []
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(USER, "te lang", reply_markup=keyboard("é" * 32 + "a"))  # 65 bytes
    assert len(tg.violations) == 1 and tg.count_to(USER) == 1


async def test_text_of_4096_characters_is_accepted(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.send_message(USER, "x" * 4096)
    assert tg.violations == []


async def test_json_body_and_query_string_are_accepted(tg: FakeTelegram, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "sendMessage",
        json={"chat_id": USER, "text": "hoi", "reply_markup": {"inline_keyboard": [[
            {"text": "Ja", "callback_data": "yes"}]]}},
    )
    assert response.status_code == 200 and response.json()["result"]["text"] == "hoi"
    response = await http.get("sendMessage", params={"chat_id": str(USER), "text": "via query"})
    assert response.status_code == 200 and response.json()["result"]["message_id"] == 2
    assert tg.calls[-1].params == {"chat_id": USER, "text": "via query"}
    assert tg.violations == []


async def test_edit_that_changes_nothing_is_rejected(tg: FakeTelegram, bot: telegram.Bot) -> None:
    message = await bot.send_message(USER, "Zelfde")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Zelfde", USER, message.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("Nieuw", USER, 99)
    assert len(tg.violations) == 2


async def test_unknown_callback_query_cannot_be_answered(tg: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)query id is invalid"):
        await bot.answer_callback_query("123")
    assert len(tg.violations) == 1


# -- updates -----------------------------------------------------------------------------------


async def test_get_updates_long_polls_and_confirms(tg: FakeTelegram, bot: telegram.Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    sent = await tg.send_text(USER, "Hallo")
    updates = await poll
    assert time.monotonic() - started < 3
    assert [u.update_id for u in updates] == [sent["update_id"]]
    assert updates[0].effective_message is not None and updates[0].effective_message.text == "Hallo"

    sticker = await tg.send_sticker(USER)
    photo = await tg.send_photo_from_user(USER)
    updates = await bot.get_updates(offset=sent["update_id"] + 1)
    assert [u.update_id for u in updates] == [sticker["update_id"], photo["update_id"]]
    assert updates[0].message.sticker is not None and updates[1].message.photo
    assert await bot.get_updates(offset=photo["update_id"] + 1, timeout=0) == ()
    assert tg.violations == []


async def test_get_updates_times_out_empty(bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_commands_get_a_bot_command_entity(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await tg.send_command(USER, "/start invite-7")
    [update] = await bot.get_updates()
    assert update.message.text == "/start invite-7"
    assert update.message.entities[0].type == "bot_command" and update.message.entities[0].length == 6


async def test_deliver_raw_allows_duplicates(tg: FakeTelegram, bot: telegram.Bot) -> None:
    update = await tg.send_text(USER, "een keer")
    await tg.deliver_raw(update)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [update["update_id"]] * 2
    assert (await tg.send_text(USER, "volgende"))["update_id"] == update["update_id"] + 1


@contextlib.asynccontextmanager
async def webhook_receiver(received: list[tuple[dict[str, Any], str | None]]) -> AsyncIterator[str]:
    async def endpoint(request: Request) -> Response:
        received.append((await request.json(), request.headers.get("x-telegram-bot-api-secret-token")))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        await task


async def test_webhook_delivery_sends_the_secret(tg: FakeTelegram, bot: telegram.Bot) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    async with webhook_receiver(received) as url:
        assert await bot.set_webhook(url, secret_token="s3cr3t-token") is True
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0

        update = await tg.send_text(USER, "via webhook")
        assert tg.deliveries == [(update["update_id"], 200)]
        assert received == [(update, "s3cr3t-token")]
        assert telegram.Update.de_json(received[0][0], bot).message.text == "via webhook"

        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await bot.delete_webhook() is True
    assert tg.violations == []


# -- error simulation --------------------------------------------------------------------------


async def test_blocked_user_gives_forbidden(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.block(USER)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(USER, "Tot donderdag!")
    assert tg.sent == [] and tg.rejected[-1].status == 403
    tg.unblock(USER)
    await bot.send_message(USER, "Tot donderdag!")
    assert tg.count_to(USER) == 1


async def test_fail_next_simulates_transient_errors(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail_next(2, status=502)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "hoi")
    await bot.send_message(USER, "hoi")
    assert [c.status for c in tg.rejected] == [502, 502]
    assert tg.count_to(USER) == 1 and tg.violations == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised by RetryAfter itself
async def test_rate_limit_per_chat() -> None:
    async with FakeTelegram(rate_limits=True) as tg, telegram.Bot(tg.token, base_url=tg.base_url) as bot:
        await bot.send_message(USER, "een")
        with pytest.raises(RetryAfter, match="Retry in 1"):
            await bot.send_message(USER, "twee")
        await bot.send_message(USER + 1, "andere chat")
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{tg.base_url}{tg.token}/sendMessage", data={"chat_id": USER, "text": "drie"}
            )
        assert response.status_code == 429
        assert response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        assert tg.too_many_requests == 2
        assert [m["text"] for m in tg.messages_to(USER)] == ["een"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_overall() -> None:
    async with FakeTelegram(rate_limits=True, per_second=3) as tg, telegram.Bot(
        tg.token, base_url=tg.base_url
    ) as bot:
        for chat in range(1, 4):
            await bot.send_message(chat, "ok")
        with pytest.raises(RetryAfter):
            await bot.send_message(4, "te veel")
        assert await bot.send_chat_action(4, "typing") is True  # not a send
        assert tg.too_many_requests == 1 and len(tg.sent) == 3


# -- waiting, control API, standalone ----------------------------------------------------------


async def test_restart_keeps_the_port(tg: FakeTelegram, bot: telegram.Bot) -> None:
    base_url = tg.base_url
    await tg.stop()
    await tg.start()
    assert tg.base_url == base_url
    assert (await bot.get_me()).is_bot


async def test_wait_for_reports_the_last_calls(tg: FakeTelegram, bot: telegram.Bot) -> None:
    async def reply_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(USER, "antwoord")

    task = asyncio.create_task(reply_later())
    [message] = await tg.wait_for_messages(USER, 1, timeout=5)
    await task
    assert message["text"] == "antwoord"
    with pytest.raises(AssertionError, match=r"(?s)still false after 0.1s.*sendMessage"):
        await tg.wait_for(lambda: tg.count_to(USER) > 1, timeout=0.1)


async def test_control_api(tg: FakeTelegram, bot: telegram.Bot) -> None:
    root = tg.base_url.removesuffix("/bot")
    async with httpx.AsyncClient(base_url=root) as client:
        update = (await client.post(f"/_fake/users/{USER}/text", json={"text": "/start"})).json()
        assert update["message"]["entities"][0]["type"] == "bot_command"
        message = await bot.send_message(USER, "Kies", reply_markup=keyboard("ja"))
        response = await client.post(
            f"/_fake/users/{USER}/press", json={"message_id": message.message_id, "callback_data": "ja"}
        )
        assert response.json()["callback_query"]["data"] == "ja"
        response = await client.post(
            f"/_fake/users/{USER}/press", json={"message_id": message.message_id, "callback_data": "nee"}
        )
        assert response.status_code == 400
        messages = (await client.get(f"/_fake/chats/{USER}/messages")).json()
        assert [m["text"] for m in messages] == ["Kies"]
        stats = (await client.get("/_fake/stats")).json()
        assert stats["sent"] == 1 and stats["pending_updates"] == 2 and stats["violations"] == []


async def test_standalone_server_prints_its_base_url() -> None:
    repo = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0", "--rate-limits"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        assert base_url.startswith("http://127.0.0.1:") and base_url.strip().endswith("/bot")
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{base_url.strip()}123456:TEST-TOKEN/getMe")
        assert response.json()["result"]["is_bot"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 10) == 0


async def test_ptb_application_polls_and_answers(tg: FakeTelegram) -> None:
    async def start(update: telegram.Update, context: Any) -> None:
        await update.effective_message.reply_text("Doe je mee?", reply_markup=keyboard("ja", "nee"))

    async def choice(update: telegram.Update, context: Any) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"Gekozen: {update.callback_query.data}")

    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choice))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=telegram.Update.ALL_TYPES)
        await tg.send_command(USER, "/start")
        [question] = await tg.wait_for_messages(USER, 1)
        await tg.press(USER, question, "ja")
        await tg.wait_for(lambda: tg.messages_to(USER)[0]["text"] == "Gekozen: ja")
        await app.updater.stop()
        await app.stop()
    assert [c.method for c in tg.calls if c.method != "getUpdates"] == [
        "getMe", "deleteWebhook", "sendMessage", "answerCallbackQuery", "editMessageText",
    ]
    assert tg.violations == []
