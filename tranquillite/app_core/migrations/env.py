"""Alembic environment of the app store: run programmatically by `tranquillite.app_core.store`,
which hands over an open SQLAlchemy connection (already inside its write lock) in
`config.attributes["connection"]`; there is no `alembic.ini` and no offline mode."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "migrations du magasin: lancées par tranquillite.app_core.store.init_store "
        "(ou `tranquillite magasin migrer`), pas par la commande alembic"
    )
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
