"""Alembic migrations of the app store (SQLite file or PostgreSQL), run by `store.init_store`."""
