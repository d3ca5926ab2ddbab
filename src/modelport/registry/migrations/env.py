"""Alembic environment: migrate the connection that modelport hands over, nothing else.

There is no alembic.ini; :func:`modelport.registry.db.migrate` builds the Config in code and
puts an open connection, already inside a locked transaction, in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from modelport.registry.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run registry migrations through modelport.registry.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
