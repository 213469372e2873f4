"""Signed, compact button data: ``<question>|<key>|<mac>``, at most 64 bytes (Telegram's limit).

The MAC (HMAC-SHA256 over chat, question and key, with ``MEEDOEN_SECRET_KEY``) ties a button
to the chat it was sent to, so data copied from another chat or made up does not verify. The
question number lets the dialog recognise a button from an earlier question (stale or
replayed); the dialog also re-checks every choice against what it currently offers, so even
a valid old button cannot take a seat in a full or closed series.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from dialogs.types import BadButton, ChoiceMade

LIMIT = 64


def _mac(secret: bytes, address: str, question: int, key: str) -> str:
    digest = hmac.new(secret, f"{address}|{question}|{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode("ascii")


def encode(secret: bytes, address: str, question: int, key: str) -> str:
    data = f"{question}|{key}|{_mac(secret, address, question, key)}"
    if len(data.encode()) > LIMIT:
        raise ValueError(f"button key {key!r} is too long for callback data")
    return data


def decode(secret: bytes, address: str, data: str | None) -> ChoiceMade | BadButton:
    parts = (data or "").split("|")
    if len(parts) != 3 or not parts[0].isdigit():
        return BadButton()
    question, key, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(secret, address, question, key)):
        return BadButton()
    return ChoiceMade(key, question)
