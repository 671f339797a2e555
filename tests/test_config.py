"""Bad configuration: exit code 2 and one line naming the setting, the value and what is allowed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_check(tmp_path: Path, env_extra: dict[str, str], env_file: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
    root = tmp_path / "proj"
    if not root.exists():
        root.mkdir()
        (root / "config").symlink_to(ROOT / "config")
        (root / "data").symlink_to(ROOT / "data")
    if env_file is not None:
        (root / ".env").write_text(env_file)
    env.update({"TB_ROOT": str(root), "PYTHONPATH": str(ROOT), **env_extra})
    return subprocess.run([sys.executable, "-m", "shared.fleet", "check"], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


@pytest.mark.parametrize("setting, value, allowed", [
    ("TB_MODE", "foo", "sim, paper, testnet, live"),
    ("TB_MAX_LEVERAGE", "-2", "1 to 125"),
    ("TB_HYBRID_PROFILE", "does_not_exist", "momentum_standard"),
    ("TB_MIN_CONVICTION_SCORE", "high", "0 to 10"),
    ("TB_SIM_SPEED", "0", "> 0"),
    ("TB_SIM_START", "yesterday", "ISO-8601"),
    ("TB_MOED", "live", "unknown name"),
    ("TB_MAX_TRADES_PER_DAY", "0", "greater than or equal to 1"),
    ("TB_ON_MAX_DRAWDOWN", "panic", "REDUCING or HALTED"),
])
def test_bad_setting_exits_2_with_one_line(tmp_path, setting, value, allowed):
    res = run_check(tmp_path, {setting: value})
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert setting in lines[0] and (value in lines[0] or "(hidden)" in lines[0]) and allowed in lines[0]


def test_bad_value_in_env_file_is_reported_too(tmp_path):
    res = run_check(tmp_path, {}, env_file="TB_FUTURES_PROFILE=yolo\n")
    assert res.returncode == 2 and "TB_FUTURES_PROFILE='yolo'" in res.stderr


def test_live_needs_explicit_confirmation(tmp_path):
    res = run_check(tmp_path, {"TB_MODE": "live"})
    assert res.returncode == 2 and "TB_LIVE_CONFIRM" in res.stderr and "yes-real-money" in res.stderr


def test_modes_not_built_yet_refuse_honestly(tmp_path):
    res = run_check(tmp_path, {"TB_MODE": "paper"})
    assert res.returncode == 2 and "not built yet" in res.stderr


def test_defaults_are_valid(tmp_path):
    res = run_check(tmp_path, {}, env_file=(ROOT / ".env.example").read_text())
    assert res.returncode == 0, res.stderr


def test_every_setting_is_documented_in_env_example():
    from shared.config.settings import SHELL_ONLY_SETTINGS, known_setting_names

    text = (ROOT / ".env.example").read_text()
    for name in known_setting_names() - SHELL_ONLY_SETTINGS - {"TB_ROOT"}:
        assert f"\n{name}=" in text, f"{name} missing from .env.example"
    for name in SHELL_ONLY_SETTINGS:
        assert name in text
    assert "TB_TELEGRAM_BOT_TOKEN" in known_setting_names()  # the notifier's own settings are known too


def test_profiles_registry_has_the_named_sets():
    from shared.config.profiles import load_profiles

    profiles = load_profiles(ROOT / "config" / "profiles.yaml")
    assert {"momentum_aggressive", "momentum_standard", "mean_reversion_tight", "mean_reversion_wide"} <= set(profiles)


def test_malformed_profile_is_a_config_error(tmp_path):
    from shared.config.errors import ConfigError
    from shared.config.profiles import load_profiles

    bad = tmp_path / "p.yaml"
    bad.write_text("profiles:\n  x:\n    risk: {max_position_pct: 500}\n")
    with pytest.raises(ConfigError, match="profiles.x.risk.max_position_pct"):
        load_profiles(bad)


def test_secrets_never_reach_a_log_line_or_a_config_error(tmp_path):
    import logging

    from shared.config.settings import Settings
    from shared.logging_setup import RedactSecrets, secret_values

    res = run_check(tmp_path, {"TB_TELEGRAM_BOT_TOKN": "123456:very-secret-token"})
    assert res.returncode == 2 and "very-secret-token" not in res.stderr + res.stdout
    (tmp_path / ".env").write_text("TB_DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/1/hook-secret\n")
    secrets = secret_values(Settings(root=tmp_path))
    assert "https://discord.com/api/webhooks/1/hook-secret" in secrets
    record = logging.LogRecord("x", logging.INFO, "f", 1, "posting to %s", ("https://discord.com/api/webhooks/1/hook-secret",), None)
    RedactSecrets(secrets).filter(record)
    assert "hook-secret" not in record.getMessage()
