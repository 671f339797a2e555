"""Forward-only schema migrations. Each module mNNNN_*.py holds VERSION and SQL (or a migrate(conn) function).

The database's PRAGMA user_version is the last applied VERSION. An old database is upgraded on start,
never dropped; a database newer than this code is refused rather than guessed at.
"""
from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from dataclasses import dataclass
from typing import Callable

from shared.audit.db import transaction


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("m"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        fn = getattr(mod, "migrate", None) or (lambda conn, sql=mod.SQL: _run_sql(conn, sql))
        found.append(Migration(mod.VERSION, info.name, fn))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def _run_sql(conn: sqlite3.Connection, sql: str) -> None:
    # executescript() would COMMIT our transaction; run statement by statement instead
    for stmt in (s.strip() for s in sql.split(";")):
        if stmt:
            conn.execute(stmt)


class SchemaTooNew(RuntimeError):
    pass


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Apply pending migrations (up to `target`), each in its own IMMEDIATE transaction; return the version."""
    migrations = all_migrations()
    latest = migrations[-1].version if migrations else 0
    target = latest if target is None else target
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > latest:
        raise SchemaTooNew(f"database schema v{current} is newer than this code (v{latest}); update Tracer")
    for m in migrations:
        if m.version > target:
            break
        with transaction(conn):
            # re-read inside the lock: another process may have just applied it
            if conn.execute("PRAGMA user_version").fetchone()[0] >= m.version:
                continue
            m.apply(conn)
            conn.execute(f"PRAGMA user_version={m.version}")
    return conn.execute("PRAGMA user_version").fetchone()[0]
