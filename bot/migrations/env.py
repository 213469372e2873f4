"""Alembic environment. Migrations run on the connection the application hands over
(``config.attributes["connection"]``, see ``bot.store.database.Database.upgrade``)."""

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
