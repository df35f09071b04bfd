"""One SQLite connection for the whole process, its migrations and transactions.

SQLite runs in WAL mode with ``synchronous=FULL``: once a transaction has
committed, it survives a crash of the process and a loss of power. Every
transaction that writes starts with ``BEGIN IMMEDIATE`` so that it holds the
write lock from its first statement and never fails half-way on a busy
database. Access from the event loop is serialised by one lock, so a
coroutine never reads another one's uncommitted writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from broker.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Row = sqlite3.Row


def migrations_dir() -> Path:
    """Where the numbered ``.sql`` migrations live."""
    configured = os.environ.get("C4BROKER_MIGRATIONS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "migrations"


class Database:
    """The process's single SQLite connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.generation = 0
        """Bumped by every transaction that changed rows: older reads are stale."""

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database file and apply migrations."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the database {path}: {exc}.") from exc
        db = cls(conn)
        await db.migrate(migrations_dir())
        return db

    async def close(self) -> None:
        """Close the connection; committed work is already on disk."""
        await self._conn.close()

    async def migrate(self, folder: Path) -> list[int]:
        """Apply every migration of ``folder`` not yet recorded, in order."""
        files = await asyncio.to_thread(_read_migrations, folder)
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at REAL NOT NULL)"
            )
            done = {
                r["version"]
                for r in await tx.fetchall("SELECT version FROM schema_migrations")
            }
            applied = []
            for version, name, script in files:
                if version in done:
                    continue
                for statement in _statements(script):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, name, time.time()),
                )
                applied.append(version)
                log.info("migration applied version=%d name=%s", version, name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction: committed on success, rolled back on error."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot start a transaction: {exc}.") from exc
            changes_before = self._conn.total_changes
            try:
                yield Transaction(self._conn)
            except BaseException:
                await self._rollback()
                raise
            try:
                await self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback()
                raise StoreError(f"Cannot commit: {exc}.") from exc
            finally:
                if self._conn.total_changes != changes_before:
                    self.generation += 1

    async def _rollback(self) -> None:
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("rollback failed")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of one read query, outside any write transaction."""
        async with self._lock:
            return await Transaction(self._conn).fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of one read query, or None."""
        async with self._lock:
            return await Transaction(self._conn).fetchone(sql, params)


class Transaction:
    """Statements inside one transaction (or one read)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        try:
            cursor = await self._conn.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StoreError(f"The database refused a statement: {exc}.") from exc
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement for each row of parameters."""
        try:
            await self._conn.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.Error as exc:
            raise StoreError(f"The database refused a statement: {exc}.") from exc

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Rows of one query."""
        try:
            # One trip to the connection's thread, not three (execute, fetch, close).
            return list(await self._conn.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StoreError(f"The database refused a query: {exc}.") from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """The first row of one query, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


def _read_migrations(folder: Path) -> list[tuple[int, str, str]]:
    files = sorted(p for p in folder.glob("*.sql") if _MIGRATION_NAME.match(p.name))
    if not files:
        raise StoreError(f"No migrations found in {folder}.")
    return [(int(p.name[:4]), p.name, p.read_text(encoding="utf-8")) for p in files]


def _statements(script: str) -> list[str]:
    """Split a migration into statements (they hold no semicolons in strings)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
