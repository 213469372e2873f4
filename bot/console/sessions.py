"""The console's session: a cookie signed with MEEDOEN_SECRET_KEY naming the coordinator, and
the CSRF token derived from it.

The cookie holds ``channel:address``, its expiry and a random nonce, and an HMAC over them;
nothing else is kept on the server, so logging in writes only the spent link. The CSRF token
is an HMAC of the nonce: a page of another site can neither read it nor guess it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "meedoen_console"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    channel: str
    address: str
    expires: datetime
    nonce: str

    @property
    def coordinator(self) -> str:
        return f"{self.channel}:{self.address}"


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"meedoen-console-{purpose}".encode(), hashlib.sha256).digest()


def _mac(secret: str, purpose: str, data: str) -> str:
    return hmac.new(_key(secret, purpose), data.encode(), hashlib.sha256).hexdigest()


def issue(secret: str, channel: str, address: str, now: datetime) -> tuple[Session, str]:
    """A new session and its cookie value."""
    session = Session(channel, address, now + LIFETIME, secrets.token_urlsafe(16))
    payload = json.dumps(
        [channel, address, int(session.expires.timestamp()), session.nonce], separators=(",", ":")
    )
    data = base64.urlsafe_b64encode(payload.encode()).decode()
    return session, f"{data}.{_mac(secret, 'session', data)}"


def read(secret: str, value: str | None, now: datetime) -> Session | None:
    """The session a cookie names, or None when it is missing, forged or expired."""
    if not value or len(value) > 1000 or value.count(".") != 1:
        return None
    data, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, "session", data)):
        return None
    try:
        channel, address, expires, nonce = json.loads(base64.urlsafe_b64decode(data))
        until = datetime.fromtimestamp(int(expires), tz=now.tzinfo)
    except (ValueError, TypeError):
        return None
    if until <= now:
        return None
    return Session(str(channel), str(address), until, str(nonce))


def csrf_token(secret: str, session: Session) -> str:
    return _mac(secret, "csrf", session.nonce)


def csrf_ok(secret: str, session: Session, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given, csrf_token(secret, session))
