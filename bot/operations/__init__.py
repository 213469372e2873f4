"""Operator tools that are not part of the conversation: backups, translation files and text previews."""
