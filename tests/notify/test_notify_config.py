"""Notifier settings: parsing, errors that name the setting, channel and routing construction."""
from __future__ import annotations

import pytest

from shared.config.errors import ConfigError
from shared.notify.config import NotifySettings, build_channels, build_routing
from shared.notify.models import Severity
from tests.fakes.fake_discord import DEFAULT_ID, DEFAULT_TOKEN
from tests.fakes.fake_telegram import DEFAULT_TOKEN as TG_TOKEN

WEBHOOK = f"https://discord.com/api/webhooks/{DEFAULT_ID}/{DEFAULT_TOKEN}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):  # type: ignore[no-untyped-def]
    import os

    for key in list(os.environ):
        if key.startswith("TB_"):
            monkeypatch.delenv(key)


def test_nothing_configured_means_console_only(tmp_path):
    s = NotifySettings.load(tmp_path)
    assert list(build_channels(s)) == ["console"]
    assert not s.commands_enabled and not s.telegram_enabled and not s.discord_enabled
    assert s.telegram_api_base == "https://api.telegram.org"


def test_both_services_routing_and_console_always(tmp_path, monkeypatch):
    monkeypatch.setenv("TB_TELEGRAM_BOT_TOKEN", TG_TOKEN)
    monkeypatch.setenv("TB_TELEGRAM_CHAT_ID", "-100123")
    monkeypatch.setenv("TB_TELEGRAM_ALLOWED_USER_IDS", "111, 222 333")
    monkeypatch.setenv("TB_TELEGRAM_MIN_SEVERITY", "CRITICAL")
    monkeypatch.setenv("TB_DISCORD_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("TB_DISCORD_MIN_SEVERITY", "warning")
    monkeypatch.setenv("TB_NOTIFY_CONSOLE", "always")
    s = NotifySettings.load(tmp_path)
    channels = build_channels(s)
    assert list(channels) == ["telegram", "discord", "console"]
    assert s.telegram_allowed_user_ids == (111, 222, 333) and s.commands_enabled
    routing = build_routing(s, list(channels))
    assert routing.channels_for(Severity.INFO) == ["console"]
    assert routing.channels_for(Severity.WARNING) == ["discord", "console"]
    assert routing.channels_for(Severity.CRITICAL) == ["telegram", "discord", "console"]


def test_dotenv_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"TB_DISCORD_WEBHOOK_URL={WEBHOOK}\nTB_NOTIFY_BACKOFF_BASE_S=7\n")
    monkeypatch.setenv("TB_NOTIFY_BACKOFF_BASE_S", "3")
    s = NotifySettings.load(tmp_path)
    assert s.discord_enabled and s.backoff.base_s == 3.0


def test_empty_values_mean_not_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("TB_TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("TB_DISCORD_WEBHOOK_URL", " ")
    monkeypatch.setenv("TB_TELEGRAM_ALLOWED_USER_IDS", "")
    s = NotifySettings.load(tmp_path)
    assert list(build_channels(s)) == ["console"] and s.telegram_allowed_user_ids == ()


@pytest.mark.parametrize("env, setting", [
    ({"TB_TELEGRAM_BOT_TOKEN": TG_TOKEN}, "TB_TELEGRAM_CHAT_ID"),
    ({"TB_TELEGRAM_BOT_TOKEN": "not-a-token", "TB_TELEGRAM_CHAT_ID": "1"}, "TB_TELEGRAM_BOT_TOKEN"),
    ({"TB_DISCORD_WEBHOOK_URL": "https://example.com/hook/secretpart"}, "TB_DISCORD_WEBHOOK_URL"),
    ({"TB_TELEGRAM_ALLOWED_USER_IDS": "alice,bob"}, "TB_TELEGRAM_ALLOWED_USER_IDS"),
    ({"TB_DISCORD_MIN_SEVERITY": "loud"}, "TB_DISCORD_MIN_SEVERITY"),
    ({"TB_NOTIFY_DAILY_SUMMARY_HOUR": "25"}, "TB_NOTIFY_DAILY_SUMMARY_HOUR"),
])
def test_bad_values_name_the_setting_and_never_echo_a_secret(tmp_path, monkeypatch, env, setting):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        NotifySettings.load(tmp_path)
    assert err.value.setting == setting
    assert "secretpart" not in str(err.value) and "not-a-token" not in str(err.value)
