"""install_cron.sh against a stand-in `crontab` command on PATH: installs one entry, idempotently, keeps the user's
other entries, and --uninstall removes only ours."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE = """#!/usr/bin/env bash
f="$FAKE_CRONTAB"
case "$1" in
  -l) [ -f "$f" ] || { echo "no crontab for $USER" >&2; exit 1; }; cat "$f" ;;
  -) cat > "$f" ;;
  *) exit 2 ;;
esac
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "crontab").write_text(FAKE)
    (bin_dir / "crontab").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_CRONTAB": str(tmp_path / "tab")}
    return subprocess.run([str(ROOT / "scripts" / "install_cron.sh"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)


def test_install_is_idempotent_and_uninstall_removes_only_ours(tmp_path):
    tab = tmp_path / "tab"
    tab.write_text("MAILTO=ops@example.com\n0 3 * * * /usr/local/bin/backup\n")
    for _ in range(2):
        assert run(tmp_path).returncode == 0
    lines = tab.read_text().splitlines()
    entries = [ln for ln in lines if "health_check.sh" in ln]
    assert len(entries) == 1 and entries[0].startswith("*/15 * * * * ")
    assert f"cd '{ROOT}'" in entries[0] and "--notify" in entries[0]
    assert lines[:2] == ["MAILTO=ops@example.com", "0 3 * * * /usr/local/bin/backup"]
    out = run(tmp_path, "--uninstall")
    assert out.returncode == 0 and "removed" in out.stdout
    assert tab.read_text().splitlines() == ["MAILTO=ops@example.com", "0 3 * * * /usr/local/bin/backup"]
    again = run(tmp_path, "--uninstall")
    assert again.returncode == 0 and "no Tracer health check" in again.stdout


def test_install_into_an_empty_crontab_and_print(tmp_path):
    assert run(tmp_path).returncode == 0
    assert len((tmp_path / "tab").read_text().splitlines()) == 2  # marker + entry
    printed = run(tmp_path, "--print")
    assert printed.returncode == 0 and "*/15 * * * *" in printed.stdout
    assert run(tmp_path, "--bogus").returncode == 2
