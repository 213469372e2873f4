"""The anonymous check-in and listening poll: their answers, his wish to be contacted, and the funnel's counts of
how far men get in the sign-up and the check-in (counts only)."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.channels.base import Outgoing
from bot.config import parse_address
from bot.delivery import outbox
from bot.domain import listening
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import anonymity, checkins, coordinators, funnel, help_requests, participants
from dialogs import notices, scoring
from dialogs.types import AskContact, CountStep, RecordCheckin, RecordListening


async def record_checkin(effect: RecordCheckin, turn: Turn) -> None:
    """Store the answers with nothing that names him (see bot.store.checkins), and with a
    language and area that at least five signed-up men share (bot.store.anonymity)."""
    connection = turn.connection
    rule = anonymity.Generalisation.of(await anonymity.population(connection))
    if rule is None:  # fewer than five men signed up: nothing can hide among them
        return
    language, area = rule.stored_as(effect.language, turn.row.area if turn.row is not None else None)
    scores = scoring.score(effect.items)
    values: dict[str, object] = {f"item{n}": answer for n, answer in enumerate(effect.items, start=1)}
    values.update(
        language=language,
        area=area,
        emotional=scores.emotional,
        social=scores.social,
        total=scores.total,
        took_part=None if effect.took_part is None else int(effect.took_part),
        worthwhile=effect.worthwhile,
    )
    week_marker, month_marker = turn.engine.markers(turn.channel, turn.address, turn.now)
    await checkins.record(connection, week_marker, checkins.iso_week(turn.now), values, month_marker=month_marker)
    # The write-ahead log would keep this transaction's pages together (his conversation row
    # next to the new pool row) until the next tick: empty it once the transaction is in.
    turn.after_commit(turn.engine.db.truncate_log)


async def ask_contact(effect: AskContact, turn: Turn) -> None:
    """Tell every coordinator that he asked to be contacted, and nothing else, and keep the
    request open for the console until one marks it done. The messages wait a random 10 to
    60 minutes, and the stored request shows from that same moment, so neither's timing
    points at a check-in."""
    name = turn.row.name if turn.row is not None and turn.row.name else None
    visible_at = turn.now + timedelta(minutes=random.randint(10, 60))
    if turn.row is not None:
        await help_requests.ask(turn.connection, turn.row.id, visible_at)
    for coordinator in await coordinators.all_ids(turn.connection):
        channel, address = parse_address(coordinator)
        language = await participants.language_of(turn.connection, channel, address)
        notice = notices.contact_request(language or "nl", name, turn.channel, turn.address)
        await outbox.enqueue(
            turn.connection,
            channel=channel,
            address=address,
            message=Outgoing(notice.text),
            kind="notice",
            priority=outbox.BULK,
            now=turn.now,
            not_before=visible_at,
        )


async def count_step(effect: CountStep, turn: Turn) -> None:
    """One more in the funnel (bot/store/funnel.py). A check-in's language is stored as its
    answers are (bot/store/anonymity.py): the counters are an anonymous table too, and must
    not tell which language an answer stored as "other" was in."""
    language = effect.language
    if effect.flow == "checkin":
        rule = anonymity.Generalisation.of(await anonymity.population(turn.connection))
        if rule is None:  # fewer than five men signed up: no check-in is kept, nor counted
            return
        language = rule.stored_as(language, turn.row.area if turn.row is not None else None)[0]
    await funnel.add_one(turn.connection, effect.week, effect.flow, effect.step, language)


async def record_listening(effect: RecordListening, turn: Turn) -> None:
    """The listening poll's answers, stored as anonymously as a check-in (bot.domain.listening)."""
    await listening.record(turn.connection, turn.engine.settings, turn.channel, turn.address, effect, turn.now)
    turn.after_commit(turn.engine.db.truncate_log)  # as for a check-in, above


RECORD_CHECKIN = Handler(RecordCheckin, Phase.STORE, record_checkin)
ASK_CONTACT = Handler(AskContact, Phase.STORE, ask_contact)
COUNT_STEP = Handler(CountStep, Phase.STORE, count_step)
RECORD_LISTENING = Handler(RecordListening, Phase.STORE, record_listening)
