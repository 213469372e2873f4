"""Sealed columns: what a man is in the middle of saying, unreadable without the key.

Some columns hold his answers next to his chat address while they are on their way: the
conversation's state (the check-in's answers so far), the raw update he sent (the button he
tapped), a reply that echoes his choice, and the polls' pools (a finished answer until the
week is over). Through SQL the service hides all of that well, but someone who copies the
database's raw files holds more than SQL shows: on PostgreSQL every old version of a row (a
dead tuple, until a table is rewritten), the write-ahead log, and the number of the
transaction that wrote each version (docs/scaling.md, "Check-in anonymity on PostgreSQL").
So these columns are stored sealed, with a key derived from ``MEEDOEN_SECRET_KEY``, which the
running service holds and the database never does: every copy of such a value, alive or
dead, in a data file, the WAL or a base backup, is ciphertext.

A sealed value is ``S1:`` and the base64 of a random 12-byte nonce and the AES-256-GCM
ciphertext of the value padded to a multiple of ``BUCKET`` bytes, so its length does not tell
which answer it holds. The authenticated cipher notices any change to the bytes, and each
column seals under its own label, so a value moved to another column does not open either.
``S1`` names the format and the key's derivation: a later one can use ``S2`` and still read
``S1``. A value that does not start with ``S1:`` was written before sealing (plain JSON,
which starts with ``{`` or ``[``) and is read as it is; the next write seals it.

The seal travels with the database connection: ``Database(url, seal=...)`` puts it on its
SQLAlchemy dialect, where ``SealedText`` finds it when a value is written or read, so every
statement on a sealed column seals and opens without the store modules having to ask. A
``Database`` made without a seal (a command run without ``MEEDOEN_SECRET_KEY``) writes plain
text and refuses to read a sealed value with ``SealError``.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import ColumnElement, Text, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "S1:"
BUCKET = 256
"""Plaintexts are padded to a multiple of this many bytes: every check-in state, answer row and
reply of the polls fits in one or two buckets, whatever was answered."""
_NONCE = 12
_INFO = b"meedoen seal v1"


class SealError(Exception):
    """A sealed value could not be opened: another key, no key, or changed bytes."""


class Seal:
    """AES-256-GCM with a key derived (HKDF-SHA256) from ``MEEDOEN_SECRET_KEY``."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, label: str) -> bytes:
        """``plain`` padded (ISO/IEC 7816-4: 0x80, then zeros) and encrypted under a fresh
        random nonce; ``label`` (the column) is authenticated with it."""
        padded = plain + b"\x80" + b"\x00" * (BUCKET - 1 - len(plain) % BUCKET)
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, padded, label.encode())

    def open(self, sealed: bytes, label: str) -> bytes:
        try:
            padded = self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], label.encode())
        except InvalidTag:
            raise SealError(
                f"A sealed value in {label} does not open: it was sealed with another MEEDOEN_SECRET_KEY "
                "or its bytes were changed; start Meedoen with the key this database was made with."
            ) from None
        return padded[: padded.rindex(b"\x80")]

    def seal_text(self, plain: str, label: str) -> str:
        return PREFIX + base64.b64encode(self.seal(plain.encode(), label)).decode("ascii")

    def open_text(self, stored: str, label: str) -> str:
        """The plain text of a stored value; one written before sealing is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        return self.open(base64.b64decode(stored[len(PREFIX):]), label).decode()


def of_key(secret: str | None) -> Seal | None:
    """The seal of ``MEEDOEN_SECRET_KEY``, or None when it is not set (see ``Database``)."""
    return Seal(secret) if secret else None


def attach(dialect: Dialect, seal: Seal | None) -> None:
    """Let the ``SealedText`` columns of statements run with ``dialect`` (one ``Database``'s
    engine) seal and open with ``seal``."""
    dialect.meedoen_seal = seal  # type: ignore[attr-defined]


def _seal_of(dialect: Dialect) -> Seal | None:
    return getattr(dialect, "meedoen_seal", None)


class SealedText(TypeDecorator):
    """A text column stored sealed (see the module's docstring); Python sees the plain text."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Seals ``value``; one sealed already (read ``as_stored``, to be copied) is kept as
        it is. No plain value starts like a sealed one: they are all JSON."""
        seal = _seal_of(dialect)
        if value is None or seal is None or value.startswith(PREFIX):
            return value
        return seal.seal_text(value, self.label)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        seal = _seal_of(dialect)
        if seal is None:
            raise SealError(
                f"{self.label} holds sealed values and this command has no key to open them; "
                "set MEEDOEN_SECRET_KEY as for `meedoen run`, then try again."
            )
        return seal.open_text(value, self.label)


def as_stored(column: ColumnElement) -> ColumnElement:
    """``column`` to select as the database holds it: sealed values stay sealed, so that a
    statement copying rows (``bot.store.checkins.rewrite_in_key_order``) neither opens nor
    seals them again (2,000 pool rows: 2,000 of each per check-in otherwise)."""
    if isinstance(column.type, SealedText):
        return type_coerce(column, Text).label(column.key)
    return column
