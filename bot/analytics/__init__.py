"""The anonymous report: figures, suppression and charts, computed from rows the store reads; no database or network I/O here."""
