"""Small general utilities: the clock, calendar arithmetic, and making a recording fit to send
as a voice message (OGG/Opus, checked and converted)."""
