"""The monitoring tables, on the registry's one ``metadata``.

Created by migration ``migrations/versions/0004_monitoring.py``; imported by ``tables.py``
so that migrations and the schema check see them.
"""

from __future__ import annotations

from modelport.registry.tables import metadata

__all__ = ["metadata"]
