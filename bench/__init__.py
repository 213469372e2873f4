"""Benchmarks (issue 7): each module is runnable as ``python -m bench.<name> [--size N]`` and
ends with one summary line ``bench <name>: key=value ...``. See docs/benchmarks.md.

- ``server_alone``      the local Bot API server (tests/fakes/telegram_api.py) measured alone
- ``broadcast``         broadcast capacity, no rate limit (10,000 recipients)
- ``paced_broadcast``   1,000 recipients at Telegram's 30 messages/s, server enforcing the limits
- ``replies``           the paced broadcast while 50 participants write to the bot
- ``inbound``           1,000 users signing up at once through the webhook, vs. a bare PTB echo bot
                        (``--database postgresql --instances 1,2,4``: several instances, one PostgreSQL)
- ``reminders``         the reminder engine with 100,000 participants in 2,000 series
- ``report``            the report over 1,000,000 check-in responses

The local Bot API server always runs in its own process (``bench.fake_server``), so that it
does not take the bot's CPU; the bot runs in the benchmark's process (or, for ``inbound``, in
a process of its own, ``bench.bot_process``). ``--database postgresql`` (inbound, engine_alone,
reminders) runs on a private PostgreSQL server the benchmark starts (``bench.postgres_server``).
"""
