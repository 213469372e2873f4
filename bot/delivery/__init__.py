"""Getting messages out: the crash-safe outbox and the pacing that keeps every platform limit."""
