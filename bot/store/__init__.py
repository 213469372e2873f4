"""Storage: small functions over an open transaction (``AsyncConnection``), one module per
concept. Callers own the transaction (``Database.transaction()``), so an update's state
change, its stored effects and its outgoing messages commit together or not at all."""
