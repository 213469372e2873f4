"""The engine and the handlers of the dialogs' effects (see docs/architecture.md)."""

from bot.engine.engine import Engine

__all__ = ["Engine"]
