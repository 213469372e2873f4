"""Replies under load: the paced broadcast of ``bench.paced_broadcast`` (1,000 recipients at
30/s against a server enforcing Telegram's limits) while ``--chatters`` (50) of its recipients
write to the bot through the webhook: each writes, waits for the answer, thinks 2 to 5 s, and
writes again, for as long as the broadcast should take.

A reply's latency runs from the moment the simulated man's update is POSTed to the bot's
webhook until the bot's answer reaches the server (both clocks are the machine's monotonic
clock, so the server process measures it). Answers share the channel's 30/s with the
broadcast and jump its queue (priority 0), but still respect Telegram's one message a second
per chat: a man who writes just after his copy of the broadcast went out waits for that.

Target: reply p99 <= 500 ms, with no 429, in every run (issue 18; it was 1 s for issue 7).

    python -m bench.replies [--size 1000] [--chatters 50]
"""

from __future__ import annotations

import argparse
import asyncio

from bench.common import print_machine, summary
from bench.paced_broadcast import measure


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.replies", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="broadcast recipients (default 1000)")
    parser.add_argument("--chatters", type=int, default=50, help="men writing meanwhile (default 50)")
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, chatters=min(args.chatters, args.size)))
    summary(
        "replies",
        **figures,
        target_met=figures["reply_p99_ms"] <= 500 and figures["too_many_requests"] == 0 and figures["missed_replies"] == 0,
    )
    return figures


if __name__ == "__main__":
    main()
