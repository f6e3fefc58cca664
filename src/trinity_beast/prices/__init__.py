"""Prices: the quote, the in-process book (Tier 1), the Valkey mirror (Tier 2), REST (Tier 3)."""
