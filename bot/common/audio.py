"""A coordinator's voice note, made fit to send: OGG/Opus, at most ``MAX_SECONDS`` long.

Telegram's ``sendVoice`` and WhatsApp's audio messages both play OGG with the Opus codec as a
voice message. A recording made in Telegram or WhatsApp is OGG/Opus already and is only
checked (its length read from the Ogg pages, no decoding). Anything else (an ``.m4a`` from a
phone, an ``.mp3``, a ``.wav``) is converted by ffmpeg, in a subprocess with a time limit:
``ffmpeg`` on the PATH, else the binary that the ``imageio-ffmpeg`` package ships. The sound itself never reaches a log line.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass

MAX_SECONDS = 60
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # what we accept to read or convert (a minute of WAV is ~6 MB)
MAX_BYTES = 1024 * 1024  # the OGG/Opus kept: a minute at 32 kbit/s is ~240 kB
CONVERT_TIMEOUT = 30.0  # seconds ffmpeg may take
OPUS_RATE = 48_000  # Opus granule positions count 48 kHz samples, whatever the input rate
MIME = "audio/ogg"

PROBLEMS = ("too_long", "too_big", "unreadable", "no_converter", "lost")
"""Why a voice note cannot be used: longer than ``MAX_SECONDS``, larger than the limits, not
a sound we can read, no ffmpeg to convert it, or no longer fetchable (after a restart)."""


class VoiceProblem(ValueError):
    """The voice note cannot be used; ``kind`` is one of ``PROBLEMS``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Clip:
    """A voice note ready to store and send."""

    audio: bytes  # OGG/Opus
    seconds: int


def prepare(data: bytes) -> Clip:
    """Check ``data`` (OGG/Opus) or convert it (any other sound); raise ``VoiceProblem``."""
    if not data:
        raise VoiceProblem("unreadable")
    if len(data) > MAX_UPLOAD_BYTES:
        raise VoiceProblem("too_big")
    seconds = opus_seconds(data)
    if seconds is None:
        data = convert(data)
        seconds = opus_seconds(data)
        if seconds is None:
            raise VoiceProblem("unreadable")
    if seconds > MAX_SECONDS + 0.5:
        raise VoiceProblem("too_long")
    if len(data) > MAX_BYTES:
        raise VoiceProblem("too_big")
    return Clip(data, max(1, round(seconds)))


def opus_seconds(data: bytes) -> float | None:
    """The length of an OGG/Opus stream, from its pages (RFC 7845): the last page's granule
    position less the pre-skip, in 48 kHz samples. ``None`` when ``data`` is not OGG/Opus."""
    if not data.startswith(b"OggS") or len(data) < 47:
        return None
    segments = data[26]
    body = 27 + segments
    if data[body : body + 8] != b"OpusHead":
        return None
    pre_skip: int = struct.unpack_from("<H", data, body + 10)[0]
    last_granule: int | None = None
    position = 0
    while position + 27 <= len(data):
        if data[position : position + 4] != b"OggS":
            return None  # a broken page: not a stream we would dare to send
        granule: int = struct.unpack_from("<q", data, position + 6)[0]
        count = data[position + 26]
        if position + 27 + count > len(data):
            return None
        size = sum(data[position + 27 : position + 27 + count])
        if granule >= 0:
            last_granule = granule
        position += 27 + count + size
    if position != len(data) or last_granule is None:
        return None
    return max(last_granule - pre_skip, 0) / OPUS_RATE


def ffmpeg() -> str | None:
    """The ffmpeg to convert with, or None when there is none."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


def convert(data: bytes) -> bytes:
    """Any sound ffmpeg reads → mono OGG/Opus for speech. Runs ffmpeg in a subprocess on a
    temporary file (an ``.m4a`` cannot be read from a pipe), removed at once."""
    program = ffmpeg()
    if program is None:
        raise VoiceProblem("no_converter")
    with tempfile.TemporaryDirectory(prefix="meedoen-voice-") as folder:
        source = os.path.join(folder, "in")
        with open(source, "wb") as handle:
            handle.write(data)
        try:
            done = subprocess.run(
                [
                    program, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", source,
                    "-vn", "-map_metadata", "-1", "-ac", "1", "-ar", str(OPUS_RATE),
                    "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-f", "ogg", "pipe:1",
                ],
                capture_output=True,
                timeout=CONVERT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            raise VoiceProblem("unreadable") from None
    if done.returncode != 0 or not done.stdout:
        raise VoiceProblem("unreadable")
    return done.stdout
