"""Wiring and entry points: the command line, the running service, its HTTP app and the demo. Nothing below imports from here."""
