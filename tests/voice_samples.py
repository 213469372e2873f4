"""Sound files for the voice tests, made here: OGG/Opus by ffmpeg (as a phone's voice message
is), WAV by Python's ``wave`` (as a recorder app may give)."""

from __future__ import annotations

import functools
import io
import math
import struct
import subprocess
import wave

from bot.common import audio as voice


@functools.cache
def ogg(seconds: float, frequency: int = 440) -> bytes:
    """A tone as OGG/Opus, ``seconds`` long."""
    program = voice.ffmpeg()
    assert program is not None, "ffmpeg (imageio-ffmpeg) is a dependency"
    done = subprocess.run(
        [program, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency={frequency}:duration={seconds}", "-ac", "1",
         "-c:a", "libopus", "-b:a", "24k", "-f", "ogg", "pipe:1"],
        capture_output=True, check=True, timeout=60,
    )
    return done.stdout


@functools.cache
def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A tone as 16-bit mono WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = int(seconds * rate)
        out.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 330 * n / rate))) for n in range(frames)
        ))
    return buffer.getvalue()
