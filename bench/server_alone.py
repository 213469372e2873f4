"""The local Bot API server measured alone: how many sendMessage requests a second it answers.

The server (``bench.fake_server``: ``tests/fakes/telegram_api.py``, validating every request
against the Bot API spec) runs in its own process, as in every other benchmark. This process
sends it ``--size`` sendMessage requests shaped exactly as python-telegram-bot sends them
(url-encoded, with an inline keyboard), over ``--connections`` keep-alive connections, with
a lean HTTP client so that the load generator needs less CPU than the server. The figure is
the ceiling the other benchmarks must stay well under for the server not to be their
bottleneck; each of them also reports the server's CPU use during its own run.

    python -m bench.server_alone [--size 20000] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlencode

from bench.common import (
    TOKEN,
    HttpPool,
    fake_server,
    ms,
    percentile,
    print_machine,
    process_figures,
    summary,
)


def send_message_body(chat_id: int, number: int) -> bytes:
    keyboard = {"inline_keyboard": [[{"callback_data": f"3|yes|{number:08x}", "text": "Ja, ik kom"}],
                                     [{"callback_data": f"3|no|{number:08x}", "text": "Nee, deze keer niet"}]]}
    return urlencode(
        {
            "chat_id": chat_id,
            "text": f"Herinnering: morgen om 19:00 Mannen in gesprek, Huis van de Wijk Osdorp. ({number})",
            "reply_markup": json.dumps(keyboard),
        }
    ).encode()


async def hammer(port: int, total: int, connections: int, first_chat: int = 2_000_001) -> dict:
    pool = HttpPool(port, connections)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    path = f"/bot{TOKEN}/sendMessage"
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for number in counter:
            started = time.monotonic()
            status, _ = await pool.request("POST", path, send_message_body(first_chat + number, number), headers)
            latencies.append(time.monotonic() - started)
            if status != 200:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - started
    pool.close()
    return {"elapsed": elapsed, "latencies": latencies, "errors": errors}


async def measure(size: int, connections: int, *, quiet: bool = False) -> dict:
    async with fake_server() as server:
        port = server.ready["port"]
        await hammer(port, min(500, size), connections)  # warm up (validators compile lazily)
        before = await server.request("stats")
        mine = process_figures()
        result = await hammer(port, size, connections)
        after = await server.request("stats")
        mine_after = process_figures()
    server_cpu = after["cpu_s"] - before["cpu_s"]
    client_cpu = mine_after["cpu_s"] - mine["cpu_s"]
    figures = {
        "requests": size,
        "req_per_s": round(size / result["elapsed"]),
        "server_cpu_ms_per_req": round(server_cpu / size * 1000, 3),
        "server_cpu_share": round(server_cpu / result["elapsed"], 2),
        "client_cpu_share": round(client_cpu / result["elapsed"], 2),
        "p50_ms": ms(percentile(result["latencies"], 50)),
        "p99_ms": ms(percentile(result["latencies"], 99)),
        "errors": result["errors"],
        "violations": after["violation_count"],
        "server_rss_mb": after["rss_mb"],
    }
    if not quiet:
        print(f"server alone: {size} sendMessage over {connections} connections in {result['elapsed']:.2f} s")
        print(f"  {figures['req_per_s']} requests/s; server CPU {figures['server_cpu_ms_per_req']} ms/request "
              f"({figures['server_cpu_share']:.0%} of a core), load generator {figures['client_cpu_share']:.0%} of a core")
        print(f"  latency p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; errors {result['errors']}, "
              f"violations {after['violation_count']}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.server_alone", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="sendMessage requests (default 20000)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, args.connections))
    summary("server_alone", **figures)
    return figures


if __name__ == "__main__":
    main()
