"""Fixtures for the notify tests: a migrated temp database and the fake Telegram and Discord servers."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.audit.db import connect
from shared.audit.migrations import migrate
from tests.fakes.fake_discord import FakeDiscord
from tests.fakes.fake_telegram import FakeTelegram


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "enhanced_trading.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(db_path)
    migrate(conn)
    yield conn
    conn.close()


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def dc() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake
