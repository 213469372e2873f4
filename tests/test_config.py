from datetime import timedelta

import pytest

from bot.channels.registry import require_channels
from bot.config import DEFAULT_AREAS, ConfigError, load_settings, parse_address, require_for_run


def load(**values):
    return load_settings(values, env_file=None)


def test_defaults_follow_the_architecture_notes():
    settings = load()
    assert settings.database_url == "sqlite+aiosqlite:///meedoen.db"
    assert settings.timezone == "Europe/Amsterdam"
    assert settings.reminders == (timedelta(hours=24), timedelta(hours=2))
    assert settings.organisation == "Meedoen"
    assert settings.areas == DEFAULT_AREAS
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert not settings.webhooks


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"MEEDOEN_TIMEZONE": "Europe/Amsterdm"}, "not a known time zone"),
        ({"MEEDOEN_COORDINATORS": "telegram:abc"}, "not a valid chat id"),
        ({"MEEDOEN_COORDINATORS": "signal:123"}, "not a valid chat id"),
        ({"MEEDOEN_COORDINATORS": "whatsapp:0612345678"}, "not a valid chat id"),
        ({"MEEDOEN_REMINDERS": "24h,soon"}, "write offsets like"),
        ({"MEEDOEN_REMINDERS": "0h"}, "write offsets like"),
        ({"MEEDOEN_PUBLIC_URL": "http://example.org"}, "https://"),
        (
            {"MEEDOEN_PUBLIC_URL": "https://bot.example.org", "TELEGRAM_BOT_TOKEN": "1:x"},
            "TELEGRAM_WEBHOOK_SECRET is required",
        ),
        ({"TELEGRAM_WEBHOOK_SECRET": "has spaces in it"}, "may only hold"),
        ({"MEEDOEN_HTTP_PORT": "80a"}, "port number"),
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "must be set together"),
    ],
)
def test_a_wrong_value_is_one_clear_sentence(values, fragment):
    with pytest.raises(ConfigError) as caught:
        load(**values)
    message = str(caught.value)
    assert fragment in message
    assert message.endswith(".") and "\n" not in message


def test_values_are_parsed():
    settings = load(
        MEEDOEN_REMINDERS="2h, 24h,10m",
        MEEDOEN_COORDINATORS="telegram:123456, whatsapp:+31612345678",
        MEEDOEN_AREAS="Noord, Oost",
        MEEDOEN_PUBLIC_URL="https://bot.example.org/",
        TELEGRAM_BOT_TOKEN="1:x",
        TELEGRAM_WEBHOOK_SECRET="s3cret_-",
    )
    assert settings.reminders == (timedelta(hours=24), timedelta(hours=2), timedelta(minutes=10))
    assert settings.coordinators == ("telegram:123456", "whatsapp:+31612345678")
    assert settings.areas == ("Noord", "Oost")
    assert settings.public_url == "https://bot.example.org"
    assert settings.webhooks


def test_env_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("MEEDOEN_ORGANISATION=Mannencentrum\nMEEDOEN_TIMEZONE=Europe/Brussels\n")
    settings = load_settings({"MEEDOEN_TIMEZONE": "Europe/Amsterdam"}, env_file=env_file)
    assert settings.organisation == "Mannencentrum"
    assert settings.timezone == "Europe/Amsterdam"


def test_run_needs_a_secret_and_a_channel():
    with pytest.raises(ConfigError, match="MEEDOEN_SECRET_KEY is required"):
        require_for_run(load(TELEGRAM_BOT_TOKEN="1:x"))
    with pytest.raises(ConfigError, match="No channel"):
        require_channels(load(MEEDOEN_SECRET_KEY="x" * 32))
    settings = load(MEEDOEN_SECRET_KEY="x" * 32, TELEGRAM_BOT_TOKEN="1:x")
    require_for_run(settings)
    require_channels(settings)


def test_parse_address():
    assert parse_address("telegram:-100123") == ("telegram", "-100123")
    assert parse_address(" whatsapp:+31612345678 ") == ("whatsapp", "+31612345678")
