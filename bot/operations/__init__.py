"""Operator tools that are not part of the conversation: backups, translation files, text previews and the research note."""
