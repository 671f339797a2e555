"""Typed configuration: settings from the environment/.env and named profiles from YAML."""
from shared.config.errors import ConfigError
from shared.config.settings import Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
