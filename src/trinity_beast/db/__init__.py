"""The database: schema (SQLAlchemy Core), Alembic migrations, and the SQL stores.

PostgreSQL (``postgresql://…``) is the production source of truth; SQLite (``sqlite:///…``,
the default under ``./var/``) serves one machine. The same schema, migrations and stores run on
both.
"""
