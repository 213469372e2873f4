"""Button keys (dialogs/buttons.py): the named kinds keep the wire format buttons already sent
carry, read back what they wrote, and the longest keys still fit Telegram's 64 bytes once
bot/channels/callback_data.py adds the question number and the MAC."""

from __future__ import annotations

import pytest

from bot.channels import callback_data
from dialogs import buttons, checkin, conversation, coordinator
from dialogs.types import ChoiceMade

SECRET = b"test-secret-key-0123456789"


def test_the_kinds_keep_the_keys_already_on_the_wire():
    assert buttons.RSVP.key(12, "y") == "r:12:y"
    assert buttons.WAITLIST_OFFER.key(7, "n") == "wo:7:n"
    assert buttons.INVITE.key(3) == "inv:3"
    assert (checkin.CHECKIN_GO, checkin.CHECKIN_LATER, checkin.CHECKIN_CONTACT) == ("ck:go", "ck:later", "ck:contact")
    assert buttons.LANGUAGE.key("so") == "lang:so" and buttons.SERIES.key(4) == "s:4" and buttons.LEAVE.key(4) == "c:4"
    assert buttons.AREA.key(buttons.NONE) == "a:-" and buttons.ANSWER.key(2) == "a:2" and buttons.WORTHWHILE.key(10) == "w:10"
    assert conversation.MENU_LANGUAGE == "menu:language"
    assert buttons.AUDIENCE.key("waitlist:3") == "co:a:waitlist:3" and coordinator.NO_INVITE == "co:i:-"
    assert (coordinator.DONE, coordinator.SEND, coordinator.CANCEL) == ("co:done", "co:send", "co:cancel")


def test_a_kind_reads_back_its_own_keys_only():
    assert buttons.AUDIENCE.value(buttons.AUDIENCE.key("series:3")) == "series:3"
    assert buttons.RSVP.value("r:12:y") == "12:y"
    assert buttons.RSVP.value("wo:12:y") is None and buttons.RSVP.value("r") is None
    assert buttons.SERIES.number("s:42") == 42
    with pytest.raises(ValueError):
        buttons.SERIES.number("c:42")


@pytest.mark.parametrize(
    "key",
    [
        buttons.AUDIENCE.key("waitlist:999999999"),
        buttons.WAITLIST_OFFER.key(999999999, "y"),
        buttons.RSVP.key(999999999, "n"),
        buttons.PRESENT.key(999999999),
        buttons.MENU.key("language"),
        checkin.CHECKIN_CONTACT,
    ],
)
def test_the_longest_keys_fit_telegrams_callback_data_with_the_mac(key):
    data = callback_data.encode(SECRET, "-1001234567890", 999999, key)  # a group chat, a long conversation
    assert len(data.encode()) <= 64
    assert callback_data.decode(SECRET, "-1001234567890", data) == ChoiceMade(key, 999999)
