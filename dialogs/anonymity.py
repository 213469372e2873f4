"""The one number behind every anonymity promise: no figure about fewer than ``MIN_GROUP`` men
is ever shown (the report's suppression, the texts that promise it, the console)."""

MIN_GROUP = 10
