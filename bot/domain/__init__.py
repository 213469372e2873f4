"""Domain services: what the organisation does with series, sign-ups, broadcasts and erasure, over the store and the outbox; no HTTP or chat wiring."""
