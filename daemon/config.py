"""Configuration: every environment variable of SPEC section 3, validated once.

`load_settings` either returns a frozen `Settings` or raises `ConfigError`
naming the one variable that is wrong. Secrets are wrapped in `Secret` so
that no `repr`, log line or traceback can print them.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """An environment variable has an invalid value; the message names it."""


class Secret:
    """A string that never shows itself in repr/str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    database_url: Secret | None = None
    data_dir: Path = Path(".instantly-sync")
    instantly_api_key: Secret | None = None
    instantly_base_url: str = "https://api.instantly.ai"
    full_pause_sync: bool = False
    reconcile_interval_seconds: int = 300
    webhook_secrets: tuple[Secret, ...] = ()
    api_tokens: tuple[Secret, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8080
    instantly_timeout_seconds: float = 15.0
    instantly_max_retries: int = 3
    instantly_max_rps: float = 10.0
    toggle_lease_seconds: int = 60
    webhook_retention_days: int = 30
    log_format: str = "json"
    log_level: str = "info"

    @property
    def host_is_loopback(self) -> bool:
        return is_loopback(self.host)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string, for the log processor that scrubs them."""
        values = [s.get() for s in self.webhook_secrets + self.api_tokens]
        if self.instantly_api_key:
            values.append(self.instantly_api_key.get())
        if self.database_url:
            password = urlsplit(self.database_url.get()).password
            if password:
                values.append(password)
        return tuple(v for v in values if v)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {raw}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {env[name]!r}")


def _secret_list(env: Mapping[str, str], name: str, *, max_items: int | None = None) -> tuple:
    raw = env.get(name, "")
    if not raw.strip():
        return ()
    items = [part.strip() for part in raw.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"{name} has an empty entry in its comma-separated list")
    if max_items is not None and len(items) > max_items:
        raise ConfigError(f"{name} accepts at most {max_items} comma-separated values")
    return tuple(Secret(item) for item in items)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _database_url(env: Mapping[str, str]) -> Secret | None:
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("postgres", "postgresql"):
        # Never echo the value: it may hold a password.
        raise ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL")
    return Secret(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate settings from the environment (or a given mapping)."""
    env = os.environ if env is None else env
    log_format = env.get("LOG_FORMAT", "").strip().lower()
    if not log_format:
        log_format = "console" if sys.stdout.isatty() else "json"
    if log_format not in ("json", "console"):
        raise ConfigError(f"LOG_FORMAT must be json or console, got {env['LOG_FORMAT']!r}")
    log_level = env.get("LOG_LEVEL", "").strip().lower() or "info"
    if log_level not in ("debug", "info", "warning", "error", "critical"):
        raise ConfigError(
            f"LOG_LEVEL must be one of debug, info, warning, error, critical, got {log_level!r}"
        )
    host = env.get("HOST", "").strip() or "127.0.0.1"
    api_key = env.get("INSTANTLY_API_KEY", "").strip()
    settings = Settings(
        database_url=_database_url(env),
        data_dir=Path(env.get("DATA_DIR", "").strip() or ".instantly-sync"),
        instantly_api_key=Secret(api_key) if api_key else None,
        instantly_base_url=_url(env, "INSTANTLY_BASE_URL", "https://api.instantly.ai"),
        full_pause_sync=_bool(env, "FULL_PAUSE_SYNC", False),
        reconcile_interval_seconds=_int(
            env, "RECONCILE_INTERVAL_SECONDS", 300, minimum=0, maximum=7 * 86400
        ),
        webhook_secrets=_secret_list(env, "WEBHOOK_SECRET", max_items=2),
        api_tokens=_secret_list(env, "API_TOKENS"),
        host=host,
        port=_int(env, "PORT", 8080, minimum=0, maximum=65535),
        instantly_timeout_seconds=_float(
            env, "INSTANTLY_TIMEOUT_SECONDS", 15.0, minimum=0.1, maximum=600
        ),
        instantly_max_retries=_int(env, "INSTANTLY_MAX_RETRIES", 3, minimum=0, maximum=20),
        instantly_max_rps=_float(env, "INSTANTLY_MAX_RPS", 10.0, minimum=0.1, maximum=10_000),
        toggle_lease_seconds=_int(env, "TOGGLE_LEASE_SECONDS", 60, minimum=1, maximum=86400),
        webhook_retention_days=_int(env, "WEBHOOK_RETENTION_DAYS", 30, minimum=1, maximum=3650),
        log_format=log_format,
        log_level=log_level,
    )
    return settings


def require_safe_bind(settings: Settings) -> None:
    """Without API_TOKENS the API is unauthenticated, so it may only listen on loopback."""
    if not settings.api_tokens and not settings.host_is_loopback:
        raise ConfigError(
            f"API_TOKENS must be set to listen on a non-loopback HOST ({settings.host})"
        )
