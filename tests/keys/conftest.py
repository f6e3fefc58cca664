from tests.db.backends import database_url, engine, stores, valkey_cache

__all__ = ["database_url", "engine", "stores", "valkey_cache"]
