"""Notifier settings (TB_TELEGRAM_*, TB_DISCORD_*, TB_NOTIFY_*) and the one place where channel names meet
configuration: which channels exist and which severities each one takes. The kill-switch path is the core
setting TB_KILL_SWITCH_PATH (shared.config.Settings.kill_switch_path)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.config.errors import ConfigError, setting_error
from shared.notify.channels import Channel, ConsoleChannel
from shared.notify.models import Backoff, ChannelRoute, Routing, Severity

FLEET_AGENTS: tuple[str, ...] = ("hybrid", "futures")
_WEBHOOK_RE = re.compile(r"^https?://[^/\s]+(?:/[^\s]*)?/api/webhooks/\d+/[A-Za-z0-9._~-]+/?$")

_HINTS = {
    "telegram_allowed_user_ids": "comma-separated numeric Telegram user ids, e.g. 12345678,87654321",
    "telegram_min_severity": "one of info, warning, critical",
    "discord_min_severity": "one of info, warning, critical",
    "notify_console": "one of auto (only when no Telegram/Discord), always, off",
    "notify_daily_summary_hour": "an hour 0-23 (UTC), or -1 for no daily summary",
}


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TB_", env_file=None, extra="ignore", validate_default=True,
                                      env_file_encoding="utf-8")

    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_allowed_user_ids: Annotated[tuple[int, ...], NoDecode] = ()
    telegram_api_base: str = "https://api.telegram.org"
    telegram_min_severity: Severity = Severity.INFO
    telegram_commands: bool = True
    telegram_poll_timeout_s: float = Field(10.0, ge=1, le=50)

    discord_webhook_url: SecretStr | None = None
    discord_min_severity: Severity = Severity.INFO
    discord_username: str = "Tracer"

    notify_console: Literal["auto", "always", "off"] = "auto"
    notify_poll_interval_s: float = Field(1.0, gt=0, le=60)
    notify_backoff_base_s: float = Field(2.0, gt=0, le=3600)
    notify_backoff_max_s: float = Field(300.0, gt=0, le=86400)
    notify_send_timeout_s: float = Field(15.0, gt=0, le=300)
    notify_daily_summary_hour: int = Field(0, ge=-1, le=23)
    notify_confirm_timeout_s: float = Field(60.0, gt=0, le=600)

    @field_validator("telegram_bot_token", "discord_webhook_url", "telegram_chat_id", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("telegram_allowed_user_ids", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(int(x) for x in re.split(r"[,\s]+", v.strip()) if x)
        return v

    @field_validator("telegram_min_severity", "discord_min_severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @classmethod
    def load(cls, root: Path, env_file: Path | None = None) -> "NotifySettings":
        """From the process environment over `<root>/.env`; bad values raise ConfigError naming the setting."""
        env_file = env_file or root / ".env"
        try:
            s = cls(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]
        except ValidationError as exc:
            raise setting_error(exc, _HINTS, hidden=("token", "webhook")) from None
        s.validate_channels()
        return s

    def validate_channels(self) -> None:
        if self.telegram_bot_token and not self.telegram_chat_id:
            raise ConfigError("TB_TELEGRAM_CHAT_ID", "", "the chat id that receives alerts (a number such as "
                              "-1001234567890, or @channelname) when TB_TELEGRAM_BOT_TOKEN is set")
        if self.telegram_bot_token and ":" not in self.telegram_bot_token.get_secret_value():
            raise ConfigError("TB_TELEGRAM_BOT_TOKEN", "(hidden)", "a bot token from @BotFather, like 123456:ABC-...")
        url = self.discord_webhook_url.get_secret_value() if self.discord_webhook_url else None
        if url and not _WEBHOOK_RE.match(url):
            raise ConfigError("TB_DISCORD_WEBHOOK_URL", "(hidden)",
                              "a webhook URL like https://discord.com/api/webhooks/<id>/<token>")

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_chat_id)

    @property
    def discord_enabled(self) -> bool:
        return self.discord_webhook_url is not None

    @property
    def commands_enabled(self) -> bool:
        """Deny by default: without an allow-list there is nobody to obey, so the command bot does not run."""
        return bool(self.telegram_bot_token and self.telegram_commands and self.telegram_allowed_user_ids)

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.notify_backoff_base_s, max(self.notify_backoff_max_s, self.notify_backoff_base_s))


def build_channels(s: NotifySettings, console_stream: TextIO | None = None) -> dict[str, Channel]:
    """The configured channels by name; the console when none is configured (or when asked for always)."""
    channels: dict[str, Channel] = {}
    if s.telegram_enabled:
        from shared.notify.telegram_channel import TelegramChannel

        assert s.telegram_bot_token is not None and s.telegram_chat_id is not None
        channels["telegram"] = TelegramChannel(s.telegram_bot_token.get_secret_value(), s.telegram_chat_id,
                                               api_base=s.telegram_api_base, timeout_s=s.notify_send_timeout_s)
    if s.discord_enabled:
        from shared.notify.discord_channel import DiscordChannel

        assert s.discord_webhook_url is not None
        channels["discord"] = DiscordChannel(s.discord_webhook_url.get_secret_value(),
                                             timeout_s=s.notify_send_timeout_s, username=s.discord_username)
    if s.notify_console == "always" or (s.notify_console == "auto" and not channels):
        channels["console"] = ConsoleChannel(stream=console_stream)
    return channels


def build_routing(s: NotifySettings, channel_names: list[str]) -> Routing:
    minimum = {"telegram": s.telegram_min_severity, "discord": s.discord_min_severity}
    return Routing(tuple(ChannelRoute(name, minimum.get(name, Severity.INFO)) for name in channel_names))
