"""Helpers for system tests: a throwaway copy of the project, run through its real scripts."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
_SKIP = {".git", ".venv", "run", "logs", ".pytest_cache", "__pycache__", ".hypothesis", ".env"}


def copy_project(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=lambda d, names: [n for n in names if n in _SKIP or n.endswith((".db", ".db-wal",
                                                                                                        ".db-shm", ".egg-info"))])
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TB_", "PYTEST_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def run(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["./start_trading_system.sh", *args], cwd=project, env=env or clean_env(), capture_output=True,
                          text=True, timeout=timeout)


def wait_for(predicate, timeout: float, interval: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def query(db: Path, sql: str, *params) -> list[tuple]:  # type: ignore[no-untyped-def]
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def processes_of(project: Path) -> list[psutil.Process]:
    """Every live process started from this copy (by working directory or a path on its command line)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            if proc.info["cwd"] == str(project) or str(project) in cmd:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found
