"""Splitting a long text politely: at paragraph, then line, then word boundaries."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters, cut where a reader would pause."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]  # a break right after the limit still counts
        cut = next(
            (at for at in (window.rfind(mark, 0, limit + 1) for mark in ("\n\n", "\n", " ")) if at >= limit // 2),
            limit,
        )
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [part for part in parts if part]
