"""The switch behind the audit log's append-only triggers.

In production the triggers always refuse UPDATE, DELETE and TRUNCATE. The one exception is a test database,
which Django empties between transactional tests: the test suite turns `purge_allowed` on, and each new
connection then tells its triggers so (SQLite through a per-connection SQL function, PostgreSQL through a
session setting). Nothing in the application turns it on.
"""

from __future__ import annotations

from typing import Any

purge_allowed = False


def configure_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "fangkong_audit_locked", 0, lambda: 0 if purge_allowed else 1, deterministic=False
        )
    elif connection.vendor == "postgresql" and purge_allowed:
        with connection.cursor() as cursor:
            cursor.execute("SET fangkong.audit_purge = 'on'")
