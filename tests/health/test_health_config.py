"""TB_WATCHDOG_* settings: defaults, .env and environment, CLI overrides, and errors that name the setting."""
from __future__ import annotations

import pytest

from shared.config.errors import ConfigError
from shared.health.config import HealthSettings, Thresholds, agent_timeframes

from .helpers import ROOT_DIR


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):  # type: ignore[no-untyped-def]
    import os

    for key in list(os.environ):
        if key.startswith("TB_"):
            monkeypatch.delenv(key)


def test_defaults_need_nothing(tmp_path):
    hs = HealthSettings.load(tmp_path)
    t = Thresholds.derive(hs, cycle_seconds=1.0)
    assert (hs.watchdog_interval_s, t.stale_s, t.max_restarts, t.restart_window_s) == (2.0, 10.0, 3, 1800.0)


def test_env_file_then_environment_then_flags(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TB_WATCHDOG_MAX_RESTARTS=5\nTB_WATCHDOG_STALE_S=30\n")
    assert HealthSettings.load(tmp_path).watchdog_max_restarts == 5
    monkeypatch.setenv("TB_WATCHDOG_MAX_RESTARTS", "7")
    hs = HealthSettings.load(tmp_path, {"watchdog_stale_s": 12.0, "watchdog_interval_s": None})
    assert (hs.watchdog_max_restarts, hs.watchdog_stale_s, hs.watchdog_interval_s) == (7, 12.0, 2.0)


@pytest.mark.parametrize("name,value", [("TB_WATCHDOG_MAX_RESTARTS", "0"), ("TB_WATCHDOG_ERROR_RATE", "1.5"),
                                        ("TB_WATCHDOG_INTERVAL_S", "soon")])
def test_bad_values_name_the_setting(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        HealthSettings.load(tmp_path)
    assert err.value.setting == name and str(err.value).startswith(f"config error: {name}=")


def test_the_fleet_accepts_the_names(monkeypatch):
    from shared.config.settings import known_setting_names

    assert {f"TB_{n.upper()}" for n in HealthSettings.model_fields} <= known_setting_names()


def test_agent_timeframes_from_the_universe(tmp_path):
    assert agent_timeframes(ROOT_DIR) == {"hybrid": 300, "futures": 3600}
    assert agent_timeframes(tmp_path) == {}, "an unreadable universe leaves the feed unjudged, the rest still works"
