"""A bare python-telegram-bot echo bot behind a Starlette webhook (as PTB's
``examples/customwebhookbot/starlettebot.py``), for ``bench.inbound``'s comparison: no
database, no dialog, no outbox: each text is answered with ``reply_text`` from the handler.
Updates are handled concurrently (256 at a time, as Meedoen's Telegram channel does); requests
go through PTB's default backend (httpx), or with ``--http aiohttp`` through Meedoen's.

    python -m bench.echo_bot --base-url URL --token T --port P
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench.common import WEBHOOK_SECRET, answer, process_figures, serve_commands


async def serve(args: argparse.Namespace) -> None:
    handled: list[tuple[float, float]] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = time.monotonic()
        await update.message.reply_text(update.message.text)
        handled.append((started, time.monotonic()))

    builder = Application.builder().token(args.token).base_url(args.base_url).updater(None).concurrent_updates(256)
    if args.http == "aiohttp":  # Meedoen's request backend (bot/channels/telegram_http.py)
        from bot.channels.telegram_http import AiohttpRequest

        builder = builder.request(AiohttpRequest(connection_pool_size=args.pool))
    else:  # PTB's default, httpx
        builder = builder.connection_pool_size(args.pool)
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def telegram(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != WEBHOOK_SECRET:
            return Response(status_code=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return Response()

    app = Starlette(routes=[Route("/telegram", telegram, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    )
    async with application:
        await application.bot.set_webhook(
            url=f"http://127.0.0.1:{args.port}/telegram", secret_token=WEBHOOK_SECRET
        )
        await application.start()
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        answer({"ready": True, "pid": os.getpid()})

        async def stats(params: dict) -> dict:
            return {**process_figures(), "handled": handled}

        try:
            await serve_commands({"stats": stats})
        finally:
            server.should_exit = True
            await task
            await application.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_bot")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=256, help="HTTP connections to the Bot API (Meedoen: 256)")
    parser.add_argument("--http", choices=("httpx", "aiohttp"), default="httpx", help="PTB's default (httpx) or Meedoen's")
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
