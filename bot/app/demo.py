"""``meedoen demo``: everything on this computer, no network, no accounts.

A SQLite file of its own, demo series seeded on first start, and a web chat page where one
can chat as one or more participants and as a coordinator, through the same engine,
dialogs and storage as Telegram and WhatsApp.

So that every coordinator view has something to show, the first start also seeds a series
that began four weeks ago (men signed up, meetings in the past with attendance, the last one
still to tick, its facilitator and one filled-in form), three series that ended weeks or months
ago (made-up men, their attendance, the facilitators' forms and, for the two long ones, the men's
statement answers before and after), made-up check-ins for the past months, enough for the
report to show its cells, trends and participation map, made-up funnel counts for the past
weeks, and made-up answers to the listening poll (drawn on a map of made-up area shapes,
``demo-areas.geojson``): enough that every section of the research note shows figures. Only
``meedoen demo`` does this, and only in its own database: the answers are synthetic (random,
from a fixed seed) and say nothing about anyone.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.app.service import Service
from bot.domain import invites
from bot.store import (
    checkins,
    coordinators,
    facilitators,
    funnel,
    help_requests,
    listening,
    meetings,
    participants,
)
from bot.store import series as series_store
from dialogs import scoring
from dialogs.formatting import clock, meeting_time, weekday_name
from dialogs.i18n import use_locale
from dialogs.types import LANGUAGES

COORDINATOR = "coordinator"
FACILITATOR = "demo-facilitator"  # the past series' facilitator: a demo chat nobody opens
DATABASE_URL = "sqlite+aiosqlite:///meedoen-demo.db"
DEMO_BOT = "meedoen_demo_bot"
"""The Telegram username the demo's invite links and flyers show (the demo has no Telegram
bot; in the demo chat the link's ``/start CODE`` works as it would on Telegram)."""
DEMO_SOURCE = "demo-page"
AREAS_GEOJSON = "demo-areas.geojson"
"""Made-up shapes of the default areas (not their real boundaries), for the demo's map."""


def areas_geojson() -> str:
    """The demo's map file, which the demo uses when MEEDOEN_AREAS_GEOJSON is not set and the
    areas are the defaults it draws."""
    return str(resources.files("bot.app") / "static" / AREAS_GEOJSON)


def demo_series(today: date) -> list[series_store.NewSeries]:
    """Three series starting next week: one roomy, one small, one already full."""
    return [
        series_store.NewSeries(
            "Mannen in gesprek", 3, time(19, 0), today + timedelta(days=1), 6, 12,
            "Huis van de Wijk Geuzenveld, Albardakade 3", "Geuzenveld-Slotermeer",
        ),
        series_store.NewSeries(
            "Vaders en zonen", 1, time(14, 0), today + timedelta(days=1), 5, 8,
            "Buurtkamer Osdorp, Tussen Meer 8", "Osdorp",
        ),
        series_store.NewSeries(
            "Werk en zorg", 5, time(10, 30), today + timedelta(days=1), 6, 1,
            "Huis van de Wijk Slotervaart, Pieter Calandlaan 1", "Slotervaart",
        ),
    ]


PAST_SERIES = "Samen sterk"
PAST_MEN = (  # (address, name, language, area index): demo chats nobody opens
    ("demo-ahmed", "Ahmed", "ar", 0), ("demo-cabdi", "Cabdi", "so", 1), ("demo-jan", "Jan", "nl", 1),
    ("demo-yusuf", "Yusuf", "ar", 2), ("demo-faarax", "Faarax", "so", 3), ("demo-karim", "Karim", "nl", None),
)
CHECKIN_MONTHS = 7  # weeks of made-up check-ins reach back this many months: the last two
# are not closed yet (issue 12: month M is shown from the 1st of M+2), so about five show
CHECKINS_PER_WEEK = 5  # in each area: about 21 a month, well above the report's 10
CHECKINS_PER_WEEK_WITHOUT_AREA = 4  # about 17 a month: a small column, still shown
CHECKIN_LANGUAGES = (("nl", 0.3), ("ar", 0.3), ("so", 0.2), ("en", 0.2))


async def seed(service: Service) -> None:
    """On first start: the demo series (one seat of the small one taken), a series with
    meetings in the past, synthetic check-ins, and the coordinator chat registered as a
    coordinator."""
    now = service.now()
    zone = service.settings.timezone
    async with service.db.transaction() as connection:
        await coordinators.add(connection, "demo", COORDINATOR, now)
        await invites.remember_username(connection, DEMO_BOT, now)
        if await series_store.overview(connection, now):
            return
        ids = [
            await series_store.add(connection, new, zone, now)
            for new in demo_series(now.astimezone().date())
        ]
        neighbour = await participants.create(connection, "demo", "neighbour", "nl", now)
        await series_store.sign_up(connection, neighbour, ids[2], waitlist=False, now=now)
        await _seed_past_series(connection, service, now)
        await _seed_checkins(connection, service.settings.areas, now, random.Random(2026))
        await _seed_funnel(connection, now, random.Random(19))
        await _seed_listening(connection, service.settings.areas, now, random.Random(17))
        await _seed_ended_series(connection, service, now, random.Random(17))


async def _seed_past_series(connection, service: Service, now: datetime) -> None:
    """A series that began four weeks ago: six men, attendance ticked at every meeting but
    the last (so /attendance has one to do), answers for the next one (/rsvps), and one open
    help request (the console's overview)."""
    areas = service.settings.areas
    started = now.astimezone().date() - timedelta(days=27)
    new = series_store.NewSeries(
        PAST_SERIES, started.weekday(), time(19, 30), started, 6, 10,
        "Huis van de Wijk Osdorp, Tussen Meer 2", areas[1] if len(areas) > 1 else "",
    )
    series_id = await series_store.add(connection, new, service.settings.timezone, now - timedelta(days=35))
    held = [row for row in await series_store.meeting_rows(connection, series_id) if row.starts_at <= now]
    ahead = [row for row in await series_store.meeting_rows(connection, series_id) if row.starts_at > now]
    for n, (address, name, language, area) in enumerate(PAST_MEN):
        man = await participants.create(connection, "demo", address, language, now - timedelta(days=30))
        await participants.change(
            connection, man, name=name, area=areas[area] if area is not None and area < len(areas) else None
        )
        await series_store.sign_up(connection, man, series_id, waitlist=False, now=now - timedelta(days=30))
        for number, meeting in enumerate(held[:-1]):
            present = (n + number) % 4 != 0  # most came, now and then one did not
            await meetings.mark_attendance(connection, man, meeting.id, present, meeting.starts_at)
        if ahead and n < 4:
            await meetings.answer(connection, man, ahead[0].id, "coming" if n != 2 else "not_coming", now)
        if n == 0:  # he asked to be contacted after a check-in: the console's overview lists it
            await help_requests.ask(connection, man, now - timedelta(hours=2))
    await _seed_facilitator(connection, series_id, held, now)


async def _seed_facilitator(connection, series_id: int, held: list, now: datetime) -> None:
    """The series' facilitator, and his filled-in form about the meeting before the last one
    (the last one's form is still to come), so that `meedoen series reports` and the
    console's series page show one."""
    await facilitators.add(connection, "demo", FACILITATOR, series_id, now - timedelta(days=30))
    if len(held) < 2:
        return
    meeting = held[-2]
    present = sum(1 for n in range(len(PAST_MEN)) if (n + len(held) - 2) % 4 != 0)
    await facilitators.save_report(
        connection,
        {
            "meeting_id": meeting.id,
            "men_present": present,
            "themes": "work,roles,father",
            "exercises": "Stelling: 'Een vader hoort de kost te verdienen.'",
            "atmosphere": 4,
            "outcomes": "Open gesprek over werk zoeken en wie thuis wat doet. Twee mannen willen samen "
            "naar het taalcafé.",
            "follow_up": 1,
            "follow_up_text": "Informatie over vrijwilligerswerk meenemen.",
            "language": "nl",
        },
        meeting.starts_at + timedelta(hours=15),
    )


async def _seed_checkins(connection, areas: tuple[str, ...], now: datetime, rng: random.Random) -> None:
    """Made-up check-ins, week by week over the past months, in every area and language,
    slowly less lonely and more active over time (so the trend has a direction). Each gets
    random markers of its own: no chat stands behind any of them, so each is one made-up man.

    They take the store's own path: into the pool, then out of it with the weekly flush
    (every seeded week is over, so each lands in ``checkin_responses`` and its markers are
    erased). Flushing after each week keeps the pool, rewritten on every insert, one week
    small."""
    weeks = CHECKIN_MONTHS * 13 // 3
    for back in range(weeks, 0, -1):
        week = checkins.iso_week(now - timedelta(weeks=back))
        progress = 1 - back / weeks  # 0 long ago → 1 last week
        for area in (*areas, None):
            count = CHECKINS_PER_WEEK if area is not None else CHECKINS_PER_WEEK_WITHOUT_AREA
            for n in range(count):
                lonely = 0.9 if n == 0 else 0.34 - 0.12 * progress  # one very lonely man a week
                await checkins.record(
                    connection, secrets.token_hex(16), week, _made_up_answers(rng, area, progress, lonely),
                    month_marker=secrets.token_hex(16),
                )
        await checkins.flush(connection, now)


LISTENING_PER_AREA = 24
"""Made-up answers to the listening poll per area (and as many without one): enough that the
report shows most shares; a share near 0 or 100 % stays hidden, as it would for real men."""


async def _seed_listening(connection, areas: tuple[str, ...], now: datetime, rng: random.Random) -> None:
    """Made-up listening-poll answers over the past weeks, through the store's own path (pool,
    then the weekly flush), each area with a barrier of its own that most men name, so the
    map's "main barrier" differs between areas. Each answer has a random marker: one made-up
    man each."""
    from dialogs.listening import QUESTIONS

    sizes = [len(options) for _name, options in QUESTIONS]
    for index, area in enumerate((*areas, None)):
        main = (0, 2, 3, 7, 6)[index % 5]  # working hours, family, language, didn't know, costs
        for n in range(LISTENING_PER_AREA):
            await listening.record(connection, secrets.token_hex(32), now - timedelta(weeks=1 + n % 8), {
                "area": area, "barriers": _picked(rng, sizes[0], main),
                "interests": _picked(rng, sizes[1], index % sizes[1]), "day_parts": _picked(rng, sizes[2], 0),
            })
    await listening.flush(connection, now)


def _picked(rng: random.Random, size: int, likely: int) -> int:
    """A made-up multiple choice as its bit set: ``likely`` mostly named, each other option now
    and then, never none."""
    picks = [rng.random() < (0.7 if option == likely else 0.25) for option in range(size)]
    return sum(1 << option for option, picked in enumerate(picks) if picked) or 1 << rng.randrange(size)


ENDED_SERIES = (("Vaders in Nieuw-West", 24, 20), ("Mannen en werk", 22, 24))
"""Series of six meetings that ended months ago (name, men signed up, weeks since the first
meeting): made-up men with a seat, their attendance, the facilitators' forms and the men's
statement answers at the first and the last meeting. Enough for the report's statements before
and after (also per series) and the research note's cohort curve and themes."""
SHORT_SERIES = ("Buurtvaders", 8, 12)
"""A short series (three meetings, eight men) that ended weeks ago. In the note's cohort curve
it and "Samen sterk" stay hidden, each under 10, but together 10 or more, so the two long
series beside them still show: the rule at work."""
STAYING = (0.96, 0.93, 0.9, 0.88, 0.87, 0.86)
"""The chance that a made-up man of a long series is present at its meetings 1..6."""
FORM_THEMES = (
    "roles,lonely,work", "work,wife,roles", "care,roles,father", "father,work,roles", "wife,father,faith",
    "roles,father,health,work",
)
"""The themes the facilitators tick at meetings 1..6 of a series (the short one: 1..3): some
named often enough for the note to show them, the rarer ones hidden together."""
MADE_UP_NAMES = (
    "Mohamed", "Hassan", "Abdi", "Pieter", "Omar", "Said", "Youssef", "Ali", "Mustafa", "Ibrahim", "Kees",
    "Bilal", "Farah", "Hamza", "Rachid", "Guled", "Tarik", "Henk", "Nabil", "Khalid", "Mahad", "Sander",
)
MADE_UP_LANGUAGES = ("nl", "ar", "so", "ar", "nl", "en", "so", "ar")


async def _seed_ended_series(connection, service: Service, now: datetime, rng: random.Random) -> None:
    """Series that ended weeks or months ago, each with made-up men (demo chats nobody opens),
    their attendance and the facilitators' forms, through the same store functions the bot
    uses; the long ones also with the men's statement answers, moving towards agreement between
    before and after. The answers take the store's own path (pool, then the weekly flush), each
    under random markers of its own: nothing ties them to the made-up men."""
    from bot.domain import series_changes
    from bot.store import statements

    men = _MadeUpMen(service.settings.areas)
    for name, signed, weeks in ENDED_SERIES:
        series_id, rows = await _ended_series(connection, service, name, weeks, 6, signed + 2, now)
        seated = [await men.sign_up(connection, series_id, rows[0].starts_at) for _n in range(signed)]
        await series_changes.close(connection, series_id)  # long over: no sign-ups
        present = [
            [man for man in seated if rng.random() < STAYING[number]] for number in range(len(rows))
        ]
        await _attend(connection, rows, seated, present, rng)
        for phase, row, came, after in (("before", rows[0], present[0], False), ("after", rows[-1], present[-1], True)):
            given = {number: _made_up_statements(rng, len(came), leans[after] + rng.uniform(-0.1, 0.1))
                     for number, leans in zip(statements.SHIPPED, STATEMENT_LEAN, strict=True)}
            for man in range(len(came)):
                answers = {number: column[man] for number, column in given.items()}
                await statements.record(connection, secrets.token_hex(32), series_id, phase, answers, row.starts_at)
    name, signed, weeks = SHORT_SERIES
    series_id, rows = await _ended_series(connection, service, name, weeks, 3, 10, now)
    seated = [await men.sign_up(connection, series_id, rows[0].starts_at) for _n in range(signed)]
    await series_changes.close(connection, series_id)
    present = [[man for n, man in enumerate(seated) if (n + number) % 4 != 0] for number in range(len(rows))]
    await _attend(connection, rows, seated, present, rng)
    await statements.flush(connection, now)


async def _ended_series(connection, service: Service, name: str, weeks: int, meeting_count: int, capacity: int,
                        now: datetime) -> tuple[int, list]:
    """A series whose first meeting was ``weeks`` ago, in the first area; its id and meetings."""
    areas = service.settings.areas
    started = now.astimezone().date() - timedelta(weeks=weeks)
    new = series_store.NewSeries(
        name, started.weekday(), time(19, 0), started, meeting_count, capacity, "Buurthuis De Meevaart",
        areas[0] if areas else "",
    )
    series_id = await series_store.add(connection, new, service.settings.timezone, now - timedelta(weeks=weeks + 2))
    return series_id, await series_store.meeting_rows(connection, series_id)


class _MadeUpMen:
    """Made-up men for the ended series, each a demo chat nobody opens, spread over the areas
    and "no area" alike (so the map's sign-ups and attendance show in every area)."""

    def __init__(self, areas: tuple[str, ...]) -> None:
        self.columns = (*areas, None)
        self.made = 0

    async def sign_up(self, connection, series_id: int, first_meeting: datetime) -> int:
        n = self.made
        self.made += 1
        joined = first_meeting - timedelta(days=10)
        man = await participants.create(
            connection, "demo", f"demo-man-{n:02d}", MADE_UP_LANGUAGES[n % len(MADE_UP_LANGUAGES)], joined
        )
        await participants.change(
            connection, man, name=MADE_UP_NAMES[n % len(MADE_UP_NAMES)], area=self.columns[n % len(self.columns)]
        )
        await series_store.sign_up(connection, man, series_id, waitlist=False, now=joined)
        return man


async def _attend(connection, rows: list, seated: list[int], present: list[list[int]], rng: random.Random) -> None:
    """Attendance ticked at every meeting (``present[k]``: the men at meeting k + 1), and the
    facilitator's form about each: how many came and the themes, no free text."""
    for row, came, themes in zip(rows, present, FORM_THEMES, strict=False):
        for man in seated:
            await meetings.mark_attendance(connection, man, row.id, man in came, row.starts_at)
        await facilitators.save_report(
            connection,
            {"meeting_id": row.id, "men_present": len(came), "themes": themes, "atmosphere": rng.randint(3, 5),
             "follow_up": 0, "language": "nl"},
            row.starts_at + timedelta(hours=16),
        )


STATEMENT_ANSWERS = (1, 2, 3, 4, 5, 0)  # fully agree … fully disagree, rather not say
STATEMENT_BEFORE = (0.18, 0.24, 0.25, 0.16, 0.12, 0.05)
STATEMENT_AFTER = (0.3, 0.36, 0.16, 0.08, 0.05, 0.05)
"""How often each answer is given before the first meeting, and after the last one for a
statement that moved all the way: both "agree" answers common enough in both phases that the
report need not hide them (within one answer of nobody), so the shift shows."""
STATEMENT_LEAN = ((0.0, 1.0), (-0.1, 0.6), (0.2, 0.8), (0.5, 0.8))
"""Where each shipped statement stands before and after (0: ``STATEMENT_BEFORE``, 1:
``STATEMENT_AFTER``; a little different in each series): not all alike."""


def _made_up_statements(rng: random.Random, men: int, lean: float) -> list[int]:
    """The made-up answers of ``men`` men to one statement, in random order: each answer as
    often as its likelihood says (the largest remainders rounded up), so that the demo's
    shares are what the likelihoods promise; ``lean`` moves them from ``STATEMENT_BEFORE``
    (0) towards ``STATEMENT_AFTER`` (1)."""
    weights = [b + lean * (a - b) for b, a in zip(STATEMENT_BEFORE, STATEMENT_AFTER, strict=True)]
    exact = [w * men / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    for index in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[: men - sum(counts)]:
        counts[index] += 1
    answers = [answer for answer, count in zip(STATEMENT_ANSWERS, counts, strict=True) for _n in range(count)]
    rng.shuffle(answers)
    return answers


FUNNEL_WEEKS = 6
FUNNEL_STARTS = {"nl": 30, "ar": 24, "so": 18, "en": 8}  # made-up men starting a week, per language
FUNNEL_KEEP = {"so": (0.9, 0.45, 0.9, 0.95)}  # Somali readers stop at the privacy text (issue 19)
DEFAULT_KEEP = (0.9, 0.85, 0.85, 0.95)  # the share that takes each next sign-up step


async def _seed_funnel(connection, now: datetime, rng: random.Random) -> None:
    """Made-up funnel counts for the past weeks, so the report's "Where men give up" has
    something to show; the English column stays under 10 ("< 10")."""
    from dialogs.funnel import CHECKIN, CHECKIN_STEPS, SIGNUP, SIGNUP_STEPS

    for back in range(FUNNEL_WEEKS, 0, -1):
        week = checkins.iso_week(now - timedelta(weeks=back))
        for language, starting in FUNNEL_STARTS.items():
            men = starting + rng.randint(-3, 3)
            counts = [men]
            for keep in FUNNEL_KEEP.get(language, DEFAULT_KEEP):
                counts.append(round(counts[-1] * keep))
            for step, count in zip(SIGNUP_STEPS, counts, strict=True):
                await funnel.add_one(connection, week, SIGNUP, step, language, by=count)
            checking = round(counts[-1] * 0.8)
            for step in CHECKIN_STEPS:
                await funnel.add_one(connection, week, CHECKIN, step, language, by=checking)
                checking -= rng.randint(0, 1)


def _made_up_answers(rng: random.Random, area: str | None, progress: float, lonely: float) -> dict:
    """One made-up check-in; ``lonely``: the chance of a lonely answer to each item. The report
    hides a measure whose group sits within one answer of either end of its scale (issue 12),
    so every area has some severely lonely men each month, or its loneliness would be hidden."""
    items = tuple(
        (rng.choice((scoring.YES, scoring.MORE_OR_LESS)) if rng.random() < lonely else scoring.NO)
        if index in scoring.EMOTIONAL
        else (rng.choice((scoring.NO, scoring.MORE_OR_LESS)) if rng.random() < lonely else scoring.YES)
        for index in range(scoring.ITEM_COUNT)
    )
    scores = scoring.score(items)
    language = rng.choices([code for code, _w in CHECKIN_LANGUAGES], [w for _c, w in CHECKIN_LANGUAGES])[0]
    return {
        **{f"item{n}": answer for n, answer in enumerate(items, start=1)},
        "language": language,
        "area": area,
        "emotional": scores.emotional,
        "social": scores.social,
        "total": scores.total,
        "took_part": int(rng.random() < 0.45 + 0.3 * progress),
        "worthwhile": min(10, max(0, round(rng.gauss(5.5 + 2 * progress, 1.8)))),
    }


NOTE_PDF = "/demo/note.pdf"
"""The demo page's "Research note" link, which the demo's start names too."""


def note_period(months: tuple[str, ...], now: datetime, zone: str) -> tuple[str, str]:
    """The demo's research note runs from the first month the report shows (the made-up
    check-ins' first closed month) to this month, so that it lists every seeded series."""
    this_month = now.astimezone(ZoneInfo(zone)).strftime("%Y-%m")
    return (months[0] if months else this_month), this_month


def demo_routes(service: Service) -> list[Route]:
    """The page and the demo's views beside the chat (the chat's own routes are the demo
    channel's, ``bot.channels.demo``)."""

    async def index(request: Request) -> Response:
        return RedirectResponse("/demo")

    async def page(request: Request) -> Response:
        html = (resources.files("bot") / "app" / "static" / "demo.html").read_text(encoding="utf-8")
        return HTMLResponse(html)

    async def series(request: Request) -> Response:
        now = service.now()
        zone = service.settings.timezone
        cards = []
        async with service.db.transaction() as connection:
            for row in await series_store.overview(connection, now):
                signups = await series_store.signup_rows(connection, row.id)
                with use_locale("en"):
                    cards.append(
                        {
                            "id": row.id,
                            "name": row.name,
                            "weekday": weekday_name(row.weekday),
                            "time": clock(time.fromisoformat(row.start_time)),
                            "location": row.location,
                            "area": row.area,
                            "capacity": row.capacity,
                            "confirmed": row.confirmed,
                            "waitlist": row.waitlisted,
                            "next_meeting": meeting_time(row.next_meeting, zone)
                            if row.next_meeting
                            else None,
                            "signups": [
                                {"name": s.name, "language": s.language, "status": s.status}
                                for s in signups
                            ],
                            **await _recruiting(connection, row.id),
                        }
                    )
        return JSONResponse(cards)

    async def _recruiting(connection, series_id: int) -> dict:
        """The series' invite link for the demo page's source, the ``/start CODE`` that
        opens it in the demo chat, its flyers and the counts per source."""
        links = invites.links(service.settings, DEMO_BOT, series_id, DEMO_SOURCE, "en")
        return {
            "invite": {"telegram": links.telegram, "start": f"/start {links.code}"},
            "flyers": {language: f"/demo/api/flyer/{series_id}/{language}.png" for language in LANGUAGES},
            "sources": [
                {"source": source or "(no source)", "signed_up": signed_up, "came": came}
                for source, signed_up, came in await invites.counts(connection, series_id)
            ],
        }

    async def flyer(request: Request) -> Response:
        """A series' flyer in one language, as `meedoen flyer` and /flyer make it."""
        from bot.domain import flyers

        language = request.path_params["language"]
        if language not in LANGUAGES:
            return JSONResponse({"error": "unknown language"}, status_code=404)
        async with service.db.transaction() as connection:
            made = await flyers.for_series(
                connection, service.settings, request.path_params["id"], source=DEMO_SOURCE,
                now=service.now(), languages=(language,),
            )
        if not made:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(made[0].png, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def note(request: Request) -> Response:
        """The research note over the demo's months, from what the demo's database holds now
        (the made-up figures, and whatever was answered in the demo since): the PDF, or the
        HTML page, in Dutch or in the language ``?lang=`` names."""
        from bot.operations import research_note

        language = request.query_params.get("lang", "nl")
        if language not in LANGUAGES:
            return JSONResponse({"error": "unknown language"}, status_code=404)
        suffix = "." + request.url.path.rsplit(".", 1)[1]
        now = service.now()
        figures = await research_note.read(service.db, service.settings, now)
        first, last = note_period(figures.report.months, now, service.settings.timezone)
        made = await asyncio.to_thread(
            research_note.render, figures.note(first, last), service.settings, language, suffix, now
        )
        media = "application/pdf" if suffix == ".pdf" else "text/html; charset=utf-8"
        return Response(made, media_type=media, headers={
            "Cache-Control": "no-store", "Content-Disposition": f'inline; filename="meedoen-research-note{suffix}"',
        })

    async def console(request: Request) -> Response:
        """Demo only: the one-time link the demo coordinator would get with /console."""
        from bot.domain.console_link import PREFIX
        from bot.store import console_links

        async with service.db.transaction() as connection:
            token = await console_links.create(connection, "demo", COORDINATOR, service.now())
        return RedirectResponse(f"{PREFIX}/login/{token}", status_code=303)

    return [
        Route("/", index),
        Route("/demo/console", console),
        Route("/demo", page),
        Route("/demo/api/series", series),
        Route("/demo/api/flyer/{id:int}/{language}.png", flyer),
        Route(NOTE_PDF, note),
        Route("/demo/note.html", note),
    ]
