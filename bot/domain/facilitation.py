"""What a facilitator's form and living-room proposal set in motion (issue 16): storing them,
and telling the coordinators (a short notice; an "Approve" button) and the facilitator; and his
own invite link and flyers, whose sign-ups count for his source
(``bot.domain.invites.facilitator_source``).

Each function runs in the caller's transaction; the messages wait in the outbox with it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings, parse_address
from bot.delivery import outbox
from bot.domain import invites
from bot.store import audit, coordinators, facilitators, meetings, participants
from bot.store import series as series_store
from dialogs.formatting import meeting_time
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import STANDING, Option, ProposeLivingRoom, SaveMeetingReport

log = logging.getLogger(__name__)


async def save_report(
    connection: AsyncConnection, settings: Settings, channel: str, address: str, form: SaveMeetingReport, now: datetime
) -> bool:
    """Store the form if he facilitates the meeting's series and it has none yet; then a
    short notice to every coordinator. False when nothing was stored."""
    if not await facilitators.facilitates_meeting(connection, channel, address, form.meeting_id):
        log.warning("facilitation: a form from a %s chat that does not facilitate the meeting refused", channel)
        return False
    stored = await facilitators.save_report(
        connection,
        {
            "meeting_id": form.meeting_id,
            "men_present": form.men_present,
            "themes": ",".join(form.themes),
            "exercises": form.exercises,
            "atmosphere": form.atmosphere,
            "outcomes": form.outcomes,
            "follow_up": int(form.follow_up),
            "follow_up_text": form.follow_up_text,
            "language": form.language,
        },
        now,
    )
    if not stored:
        return False
    meeting = await meetings.get(connection, form.meeting_id)
    series = await series_store.get(connection, meeting.series_id)
    for boss in await coordinators.all_ids(connection):
        boss_channel, boss_address = parse_address(boss)
        with use_locale(await participants.language_of(connection, boss_channel, boss_address) or "nl"):
            text = fill(
                _(
                    "The facilitator's form about %(series)s (%(when)s) is in. You can read it on "
                    "the group's page in the web console."
                ),
                series=series.name,
                when=meeting_time(meeting.starts_at, settings.timezone),
            )
            if form.follow_up:
                text += "\n" + _("Follow-up is needed.")
            await _notify(connection, boss_channel, boss_address, Outgoing(directed(text)), now)
    return True


async def propose(
    connection: AsyncConnection, settings: Settings, channel: str, address: str, proposal: ProposeLivingRoom, now: datetime
) -> int:
    """Store the proposal; every coordinator gets it with an "Approve" button."""
    mine = await facilitators.series_of(connection, channel, address)
    first = await series_store.get(connection, mine[0]) if mine else None
    proposal_id = await facilitators.propose(
        connection,
        channel,
        address,
        {
            "name": proposal.name,
            "starts_at": proposal.starts_at,
            "location": proposal.location,
            "capacity": proposal.capacity,
            "area": first.area if first is not None else "",
        },
        now,
    )
    row = await participants.find(connection, channel, address)
    who = row.name if row is not None and row.name else f"{channel}:{address}"
    for boss in await coordinators.all_ids(connection):
        boss_channel, boss_address = parse_address(boss)
        with use_locale(await participants.language_of(connection, boss_channel, boss_address) or "nl"):
            text = fill(
                _(
                    "Facilitator %(who)s proposes a living-room talk: %(when)s, %(place)s, for at "
                    "most %(count)s men. Approve it to open it for sign-up."
                ),
                who=who,
                when=meeting_time(proposal.starts_at, settings.timezone),
                place=proposal.location,
                count=proposal.capacity,
            )
            message = Outgoing(directed(text), (Option(_("Approve"), f"lr:{proposal_id}"),), STANDING)
            await _notify(connection, boss_channel, boss_address, message, now)
    return proposal_id


async def approve(
    connection: AsyncConnection, settings: Settings, channel: str, address: str, proposal_id: int, now: datetime
) -> None:
    """A coordinator's "Approve": the proposal becomes a series of one meeting, its place
    told only to those who sign up, with the proposer as its facilitator. The coordinator is
    answered in any case; the facilitator hears that it is open."""
    language = await participants.language_of(connection, channel, address) or "nl"
    found = await facilitators.proposal(connection, proposal_id)
    with use_locale(language):
        if found is None:
            answer = _("This proposal is no longer there.")
        elif found.status != "proposed":
            answer = _("This living-room talk was approved already.")
        elif found.starts_at <= now:
            answer = _("This living-room talk would have started already, so it was not opened.")
        elif not await facilitators.claim_approval(connection, proposal_id):
            answer = _("This living-room talk was approved already.")
        else:
            series_id = await _open_series(connection, settings, found, now)
            await audit.record(
                connection, f"{channel}:{address}", "livingroom.approve", f"proposal {proposal_id} → series {series_id}", now
            )
            answer = fill(_("Approved. %(series)s is open for sign-up."), series=found.name)
            await _tell_facilitator(connection, settings, found, series_id, now)
    await _notify(connection, channel, address, Outgoing(directed(answer)), now, reply=True)


async def _open_series(connection: AsyncConnection, settings: Settings, proposal, now: datetime) -> int:
    local = proposal.starts_at.astimezone(ZoneInfo(settings.timezone))
    series_id = await series_store.add(
        connection,
        series_store.NewSeries(
            name=proposal.name,
            weekday=local.weekday(),
            start_time=local.time().replace(second=0, microsecond=0),
            start_date=local.date(),
            meeting_count=1,
            capacity=proposal.capacity,
            location=proposal.location,
            area=proposal.area,
            place_private=True,
        ),
        settings.timezone,
        now,
    )
    await facilitators.link_series(connection, proposal.id, series_id)
    await facilitators.add(connection, proposal.channel, proposal.address, series_id, now)
    return series_id


async def _tell_facilitator(connection: AsyncConnection, settings: Settings, proposal, series_id: int, now: datetime) -> None:
    """"Approved", with the talk's invite link for his own source, to pass on to the men he
    invites (the place stays out of it: they hear it when they sign up)."""
    language = await participants.language_of(connection, proposal.channel, proposal.address) or "nl"
    link = await own_link(connection, settings, proposal.channel, proposal.address, series_id, language)
    with use_locale(language):
        text = fill(
            _("Good news: your living-room talk on %(when)s is approved and open for sign-up."),
            when=meeting_time(proposal.starts_at, settings.timezone),
        )
        if link:
            text += "\n\n" + fill(
                _("Send this link to the men you invite. Everyone who signs up through it is counted for you:\n%(link)s"),
                link=link,
            )
    await _notify(connection, proposal.channel, proposal.address, Outgoing(directed(text)), now)


# --- his own invite link and flyers -----------------------------------------------------------


async def flyer_source(connection: AsyncConnection, settings: Settings, channel: str, address: str, series_id: int) -> str | None:
    """The source of the flyers this chat asked for: "" for a coordinator (any series, as
    before, also when he facilitates too), his own label for a facilitator of that series;
    None when he may not have them (another series, or no longer a facilitator)."""
    if await coordinators.is_coordinator(connection, channel, address):
        return ""
    if series_id in await facilitators.series_of(connection, channel, address):
        return invites.facilitator_source(settings.secret_key.encode(), channel, address)
    log.warning("facilitation: flyers of a series from a %s chat that does not facilitate it refused", channel)
    return None


async def own_link(
    connection: AsyncConnection, settings: Settings, channel: str, address: str, series_id: int, language: str
) -> str | None:
    """His invite link for a series, for his own source: the one for his own app (a man he
    sends it to most likely uses the same), else the other; None when no channel is set up."""
    username = await invites.cached_username(connection)
    source = invites.facilitator_source(settings.secret_key.encode(), channel, address)
    links = invites.links(settings, username, series_id, source, language)
    return (links.whatsapp if channel == "whatsapp" else links.telegram) or links.telegram or links.whatsapp


async def own_link_messages(
    connection: AsyncConnection, settings: Settings, channel: str, address: str, series_id: int, language: str
) -> list[Outgoing]:
    """After his flyers: what to do with his link, then an invitation he can forward as it is."""
    series = await series_store.get(connection, series_id)
    link = await own_link(connection, settings, channel, address, series_id, language)
    if series is None or link is None:
        return []
    with use_locale(language):
        how = _(
            "Forward the next message to men you know, or send them a flyer. Everyone who signs up "
            "through your link or flyer is counted for you."
        )
        invitation = fill(
            _("Hello! I lead %(series)s, conversations for men. You are welcome too. Sign up here: %(link)s"),
            series=series.name,
            link=link,
        )
    return [Outgoing(directed(how)), Outgoing(directed(invitation))]


async def _notify(
    connection: AsyncConnection, channel: str, address: str, message: Outgoing, now: datetime, *, reply: bool = False
) -> None:
    """Queue a notice (or, ``reply``, the answer to the button he just pressed)."""
    await outbox.enqueue(
        connection,
        channel=channel,
        address=address,
        message=message,
        kind="reply" if reply else "notice",
        priority=outbox.REPLY if reply else outbox.BULK,
        now=now,
    )
