"""Button keys: what a press sends back as ``ChoiceMade.key``, one named kind per use.

A key is ``<prefix>:<value>`` (``RSVP.key(12, "y")`` is ``"r:12:y"``) or, for a question's own
answers, a plain word (``YES``, ``SKIP``...). The prefixes are short because a key travels in
Telegram's 64 bytes of callback data together with the question number and a MAC
(``bot/channels/callback_data.py``). They are a wire format: buttons already sent (a reminder
of last week) carry them, so a prefix never changes meaning; a new use gets a new kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One use of buttons, with its prefix on the wire."""

    prefix: str

    def key(self, *values: object) -> str:
        """The key of a button of this kind: the prefix and ``values``, ``:``-separated."""
        return ":".join((self.prefix, *(str(value) for value in values)))

    def value(self, key: str) -> str | None:
        """What follows the prefix in ``key``, or ``None`` for a key of another kind."""
        head = self.prefix + ":"
        return key[len(head):] if key.startswith(head) else None

    def number(self, key: str) -> int:
        """The number after the prefix (``SERIES.number("s:3") == 3``); ``ValueError`` for a
        key of another kind, which only a bug can send (buttons are signed)."""
        value = self.value(key)
        if value is None:
            raise ValueError(f"not a {self.prefix}: button")
        return int(value)


# Standing buttons, valid whatever question is open (dialogs/standing.py, dialogs/notices.py).
RSVP = Kind("r")  # r:<meeting id>:y|n, a reminder's "I'm coming" / "I can't this time"
WAITLIST_OFFER = Kind("wo")  # wo:<offer id>:y|n, a seat offered from the waiting list
INVITE = Kind("inv")  # inv:<series id>, a broadcast's "Sign me up"
CHECKIN = Kind("ck")  # ck:go | ck:later | ck:contact, the check-in's offer and closing question
FRIEND = Kind("friend")  # friend:<series id>, the second meeting's reminder's "Invite a friend"
CALENDAR = Kind("cal")  # cal | cal:<series id>, "Add to my calendar" under a changed meeting's notice

# The sign-up conversation (dialogs/conversation.py).
LANGUAGE = Kind("lang")  # lang:<code>
SERIES = Kind("s")  # s:<series id>, a series to join
AREA = Kind("a")  # a:<index in the areas> | a:-, where he lives
LEAVE = Kind("c")  # c:<series id>, a series to leave
MENU = Kind("menu")  # menu:join | menu:mine | menu:language | menu:help | menu:cal | menu:friend

# The check-in's questions (dialogs/checkin.py).
ANSWER = Kind("a")  # a:0 | a:1 | a:2, yes / more or less / no
WORTHWHILE = Kind("w")  # w:0 .. w:10

# A coordinator's commands (dialogs/coordinator.py).
COORDINATOR = Kind("co")  # co:done | co:next | co:skip | co:send | co:cancel
MEETING = Kind("co:m")  # co:m:<meeting id>, the meeting to take attendance of
PRESENT = Kind("co:p")  # co:p:<participant id>, tick him present or absent
AUDIENCE = Kind("co:a")  # co:a:<audience key>, e.g. co:a:waitlist:3
BROADCAST_INVITE = Kind("co:i")  # co:i:<series id> | co:i:-, the broadcast's "Sign me up" series
VOICE_SERIES = Kind("co:vs")  # co:vs:<series id>, the series whose recorded reminder /voice sets
VOICE_LANGUAGE = Kind("co:vl")  # co:vl:<language>, the language of that recording
FLYERS = Kind("co:f")  # co:f:<series id>, the series whose flyers /flyer sends

# A facilitator's chat (dialogs/facilitator.py, dialogs/meeting_report.py).
FORM = Kind("fr")  # fr:<meeting id>, "Fill in the form" about a meeting (standing)
FORM_ANSWER = Kind("mr")  # mr:done | mr:skip | mr:..., the form's own buttons
LIVING_ROOM = Kind("lr")  # lr:send | lr:cancel | lr:..., the living-room proposal, and a coordinator's approval

CALL_BACK = "call:me"  # "Call me back", offered with the answer to a man's voice note (standing)

# The statements before and after a series (dialogs/statements.py).
STATEMENTS = Kind("st")  # st:go:..., st:later, the answers: the offer's buttons (standing) and the poll's
STATEMENTS_SERIES = Kind("co:s")  # co:s:<series id>, a coordinator's /statements: which series
STATEMENTS_PHASE = Kind("co:sp")  # co:sp:before | co:sp:after, the start or the end of the series

# The listening poll (dialogs/listening.py).
LISTENING = Kind("ls")  # ls:..., its toggles, "Done" and "Skip", and the offer's buttons (standing)

# A question's own answers.
YES = "yes"
NO = "no"
SKIP = "skip"
WAIT = "wait"  # the waiting list of a full series
OTHER = "other"  # another series instead
KEEP = "keep"  # nothing changes
ERASE = "erase"
NONE = "-"  # no area / no invite button
