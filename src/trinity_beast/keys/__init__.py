"""API keys: the record, hashing, the store interface and the in-memory cache of the hot path."""
