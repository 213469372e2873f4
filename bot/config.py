"""Settings from the environment (and a ``.env`` file in the working directory).

Every problem is reported as one plain sentence in a ``ConfigError``; the CLI prints it and
exits, so an operator never has to read a traceback to learn that a variable is wrong.
Variable names are part of the operator interface (see docs/architecture.md): keep them.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_AREAS = (
    "Geuzenveld-Slotermeer",
    "Osdorp",
    "De Aker/Sloten/Nieuw-Sloten",
    "Slotervaart",
)

_ADDRESS_PATTERNS = {
    "telegram": re.compile(r"-?\d{1,20}"),
    "whatsapp": re.compile(r"\+[1-9]\d{6,14}"),
    "demo": re.compile(r"[A-Za-z0-9_-]{1,40}"),
}
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TELEGRAM_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_TWILIO_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_OFFSET = re.compile(r"(\d+)\s*([hm])")


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one sentence for the operator."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///meedoen.db"
    timezone: str = "Europe/Amsterdam"
    reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    coordinators: tuple[str, ...] = ()
    organisation: str = "Meedoen"
    areas: tuple[str, ...] = DEFAULT_AREAS
    areas_geojson: str | None = None  # one polygon per area: the report draws a map (read_shapes)
    secret_key: str | None = None
    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_rate: float = 30.0
    telegram_chat_interval: float = 1.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    whatsapp_rate: float = 80.0  # messages a second (Twilio's default for a WhatsApp sender)
    whatsapp_chat_interval: float = 1.0  # seconds between two messages to one man
    whatsapp_templates: str | None = None  # path of the TOML file, see README "WhatsApp"
    flyer_free: bool = False  # flyers say "Free, with coffee and tea"
    demo: bool = False  # the browser chat channel; set by `meedoen demo`, never from the environment

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def webhooks(self) -> bool:
        return bool(self.public_url)


def parse_address(value: str) -> tuple[str, str]:
    """``"telegram:123456"`` → ``("telegram", "123456")``, or ConfigError. Invisible
    direction marks are dropped: an address copied from an Arabic /whoami answer has them."""
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    channel, _, address = value.strip().partition(":")
    pattern = _ADDRESS_PATTERNS.get(channel)
    if pattern is None or not pattern.fullmatch(address):
        raise ConfigError(
            f"{value.strip()!r} is not a valid chat id; "
            "use telegram:123456 or whatsapp:+31612345678."
        )
    return channel, address


def parse_offsets(value: str) -> tuple[timedelta, ...]:
    """``"24h,2h,10m"`` → the reminder offsets, largest first."""
    offsets = []
    for part in filter(None, (p.strip().lower() for p in value.split(","))):
        match = _OFFSET.fullmatch(part)
        if not match or int(match.group(1)) == 0:
            raise ConfigError(
                f"MEEDOEN_REMINDERS has {part!r}; write offsets like 24h,2h or 30m."
            )
        amount, unit = int(match.group(1)), match.group(2)
        offsets.append(timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount))
    return tuple(sorted(set(offsets), reverse=True))


def _positive_number(name: str, raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        number = 0.0
    if number <= 0:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}.")
    return number


def read_shapes(path: str | None, areas: tuple[str, ...]):
    """The areas' shapes from MEEDOEN_AREAS_GEOJSON (``bot.analytics.area_map``), None when it
    is not set; ConfigError with one sentence when the file cannot serve."""
    if not path:
        return None
    from bot.common.area_shapes import AreaMapError, parse

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"MEEDOEN_AREAS_GEOJSON: cannot read {path}; check the path, or leave it empty for no map.") from None
    try:
        return parse(text, areas, path)
    except AreaMapError as error:
        raise ConfigError(str(error)) from None


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> Settings:
    """Read the settings; values in ``environ`` win over the ``.env`` file."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        return raw.strip() if raw and raw.strip() else None

    zone = get("MEEDOEN_TIMEZONE") or Settings.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"MEEDOEN_TIMEZONE {zone!r} is not a known time zone; use a name like Europe/Amsterdam."
        ) from None

    coordinators = tuple(
        ":".join(parse_address(item))
        for item in (get("MEEDOEN_COORDINATORS") or "").split(",")
        if item.strip()
    )

    public_url = get("MEEDOEN_PUBLIC_URL")
    if public_url:
        parsed = urlparse(public_url)
        local = parsed.hostname in ("127.0.0.1", "localhost")
        if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
            raise ConfigError(
                f"MEEDOEN_PUBLIC_URL must be an https:// address, not {public_url!r}."
            )
        public_url = public_url.rstrip("/")

    token = get("TELEGRAM_BOT_TOKEN")
    if token and not _TELEGRAM_TOKEN.fullmatch(token):
        # never the value itself: it is a secret, and a wrong one may be almost right
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not a bot token; copy it again from @BotFather: digits, a colon, "
            "then letters and digits, like 123456789:AAH..., without spaces or quotes."
        )
    webhook_secret = get("TELEGRAM_WEBHOOK_SECRET")
    if token and public_url and not webhook_secret:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET is required when MEEDOEN_PUBLIC_URL turns on webhooks."
        )
    if webhook_secret and not _WEBHOOK_SECRET.fullmatch(webhook_secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET may only hold letters, digits, _ and - (1 to 256 of them)."
        )

    port_raw = get("MEEDOEN_HTTP_PORT") or str(Settings.http_port)
    if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
        raise ConfigError(f"MEEDOEN_HTTP_PORT must be a port number, not {port_raw!r}.")

    areas = tuple(a.strip() for a in (get("MEEDOEN_AREAS") or "").split(",") if a.strip())
    areas_geojson = get("MEEDOEN_AREAS_GEOJSON")

    twilio = [get(n) for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM")]
    if any(twilio) and not all(twilio):
        raise ConfigError(
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM must be set together."
        )
    if twilio[0] and not _TWILIO_ACCOUNT_SID.fullmatch(twilio[0]):
        raise ConfigError("TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal digits.")
    if twilio[2]:
        sender = twilio[2].removeprefix("whatsapp:")
        if not _ADDRESS_PATTERNS["whatsapp"].fullmatch(sender):
            raise ConfigError(
                f"TWILIO_WHATSAPP_FROM must be the WhatsApp sender's number, like whatsapp:+31201234567, not {twilio[2]!r}."
            )
        twilio[2] = f"whatsapp:{sender}"

    if areas_geojson:
        read_shapes(areas_geojson, areas or DEFAULT_AREAS)  # checked now: a clear error at start
    return Settings(
        database_url=get("MEEDOEN_DATABASE_URL") or Settings.database_url,
        timezone=zone,
        reminders=parse_offsets(get("MEEDOEN_REMINDERS") or "24h,2h"),
        coordinators=coordinators,
        organisation=get("MEEDOEN_ORGANISATION") or Settings.organisation,
        areas=areas or DEFAULT_AREAS,
        areas_geojson=areas_geojson,
        secret_key=get("MEEDOEN_SECRET_KEY"),
        public_url=public_url,
        http_host=get("MEEDOEN_HTTP_HOST") or Settings.http_host,
        http_port=int(port_raw),
        telegram_bot_token=token,
        telegram_api_base_url=get("TELEGRAM_API_BASE_URL") or Settings.telegram_api_base_url,
        telegram_webhook_secret=webhook_secret,
        telegram_rate=_positive_number(
            "MEEDOEN_TELEGRAM_RATE", get("MEEDOEN_TELEGRAM_RATE") or "30"
        ),
        telegram_chat_interval=_positive_number(
            "MEEDOEN_TELEGRAM_CHAT_INTERVAL", get("MEEDOEN_TELEGRAM_CHAT_INTERVAL") or "1"
        ),
        twilio_account_sid=twilio[0],
        twilio_auth_token=twilio[1],
        twilio_whatsapp_from=twilio[2],
        twilio_api_base_url=get("TWILIO_API_BASE_URL") or Settings.twilio_api_base_url,
        whatsapp_rate=_positive_number("MEEDOEN_WHATSAPP_RATE", get("MEEDOEN_WHATSAPP_RATE") or "80"),
        whatsapp_chat_interval=_positive_number(
            "MEEDOEN_WHATSAPP_CHAT_INTERVAL", get("MEEDOEN_WHATSAPP_CHAT_INTERVAL") or "1"
        ),
        whatsapp_templates=get("MEEDOEN_WHATSAPP_TEMPLATES"),
        flyer_free=_yes_or_no("MEEDOEN_FLYER_FREE", get("MEEDOEN_FLYER_FREE") or "no"),
    )


def _yes_or_no(name: str, raw: str) -> bool:
    answer = raw.strip().lower()
    if answer not in ("yes", "no", "true", "false", "1", "0"):
        raise ConfigError(f"{name} must be yes or no, not {raw!r}.")
    return answer in ("yes", "true", "1")


DATABASE_URL_EXAMPLE = "sqlite+aiosqlite:////var/lib/meedoen/meedoen.db"
POSTGRESQL_URL_EXAMPLE = "postgresql+asyncpg://meedoen:PASSWORD@db.example:5432/meedoen"


def check_database_url(url: str, setting: str = "MEEDOEN_DATABASE_URL") -> None:
    """One sentence naming the setting when ``url`` is no database URL, or names a SQLite
    file in a folder that does not exist or cannot be written, rather than SQLAlchemy's
    ArgumentError or "unable to open database file" at the first query."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"{setting} {url!r} is not a database URL; write it like {DATABASE_URL_EXAMPLE} "
            "(four slashes before an absolute path, three before a relative one)."
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() != "aiosqlite":
        raise ConfigError(
            f"{setting} {url!r} must name the aiosqlite driver; write it like {DATABASE_URL_EXAMPLE}."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "asyncpg":
        raise ConfigError(
            f"{setting} must name the asyncpg driver for PostgreSQL; write it like {POSTGRESQL_URL_EXAMPLE}."
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"{setting} must be a SQLite or PostgreSQL database; write it like {DATABASE_URL_EXAMPLE} "
            f"or {POSTGRESQL_URL_EXAMPLE}."
        )
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    folder = Path(parsed.database).parent
    if not folder.is_dir():
        raise ConfigError(
            f"{setting} names the folder {folder}, which does not exist; create it (or fix the path), then try again."
        )
    database = Path(parsed.database)
    if not os.access(folder, os.W_OK | os.X_OK) or (database.exists() and not os.access(database, os.R_OK | os.W_OK)):
        raise ConfigError(
            f"{setting} names {database}, which this user cannot write; run Meedoen as the user who owns {folder}."
        )


def require_for_run(settings: Settings) -> None:
    """What ``meedoen run`` needs beyond what every command needs; each channel's own needs
    are checked by ``bot.channels.registry.require_channels``."""
    if not settings.secret_key:
        raise ConfigError("MEEDOEN_SECRET_KEY is required for `meedoen run`; set a long random value.")
    if len(settings.secret_key) < 16:
        raise ConfigError("MEEDOEN_SECRET_KEY is too short; use at least 16 random characters.")
