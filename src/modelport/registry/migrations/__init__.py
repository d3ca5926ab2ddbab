"""Alembic migrations of the registry schema, run by :func:`modelport.registry.db.migrate`."""
