"""Configuration: every environment variable, declared once, validated once.

Each variable is one field of `Settings`: its environment name (the alias),
its default, its bounds, its group and a one-line description. The README
table and `serve --help` are generated from these fields (a test keeps the
README in step), so nothing about a variable is written twice.

`load_settings` either returns a frozen `Settings` or raises `ConfigError`
with one line naming the variable that is wrong. Secrets are
`pydantic.SecretStr`: no `repr`, log line or traceback can print them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic.fields import FieldInfo

from daemon.validation import first_problem


class ConfigError(Exception):
    """An environment variable has an invalid value; the message names it."""


GROUPS = ("database", "instantly", "http", "webhooks", "reconcile", "notify", "logging")


def _var(default: Any, env: str, group: str, description: str, *,
         shown_default: str | None = None, **bounds: Any) -> Any:
    """A field read from environment variable `env` (see module docstring);
    `shown_default`: how the docs show a default that depends on where it runs."""
    assert group in GROUPS, group
    extra = {"group": group, **({"shown_default": shown_default} if shown_default else {})}
    return Field(default, alias=env, description=description, json_schema_extra=extra,
                 **bounds)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _postgres_url(value: SecretStr) -> SecretStr:
    # Never echo the value: it may hold a password.
    parts = urlsplit(value.get_secret_value())
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("must be a postgres:// or postgresql:// URL")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("names no host: postgresql://USER@HOST[:PORT]/DATABASE"
                         " (a Unix socket: ...?host=/run/postgresql)")
    if not parts.path.strip("/"):
        raise ValueError("names no database: postgresql://USER@HOST[:PORT]/DATABASE")
    return value


def _comma_list(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    items = [part.strip() for part in value.split(",")]
    if any(not item for item in items):
        raise ValueError("has an empty entry in its comma-separated list")
    return tuple(items)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
PostgresUrl = Annotated[SecretStr, AfterValidator(_postgres_url)]
SecretList = Annotated[tuple[SecretStr, ...], BeforeValidator(_comma_list)]


def _fernet_keys(keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
    # Never echo a value: each is a secret. Imported here: an install without
    # workspaces never loads the cryptography library (about 7 MB per process).
    from cryptography.fernet import Fernet

    for n, key in enumerate(keys, 1):
        try:
            Fernet(key.get_secret_value())
        except (ValueError, TypeError):
            raise ValueError(f"entry {n} is not a Fernet key (32 url-safe base64-encoded"
                             " bytes; `instantly-sync workspaces new-key` makes one)") from None
    return keys


FernetKeys = Annotated[SecretList, AfterValidator(_fernet_keys)]


def _digest_time(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.lower() == "off"):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("must be a time HH:MM (00:00 to 23:59), or off for no digest")
    return value


def _time_zone(value: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a time zone name (IANA, e.g. Europe/Amsterdam): {value!r}"
                         ) from None
    return value


DigestTime = Annotated[str | None, BeforeValidator(_digest_time)]
TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
NotifyLanguage = Annotated[Literal["en", "nl"], BeforeValidator(_lower)]
NameList = Annotated[tuple[str, ...], BeforeValidator(_comma_list)]
# Who a request is when API_TOKENS is unset (loopback only, unauthenticated).
LOOPBACK_CALLER = "loopback"
# `name:token` in API_TOKENS: a short lowercase name, then the token itself.
TOKEN_NAME = re.compile(r"([a-z][a-z0-9_-]{0,31}):(.+)")
LogFormat = Annotated[Literal["json", "console"], BeforeValidator(_lower)]
EventLoop = Annotated[Literal["auto", "uvloop", "asyncio"], BeforeValidator(_lower)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error", "critical"],
                     BeforeValidator(_lower)]


class Settings(BaseModel):
    """The process's configuration (README, Configuration), frozen after start-up."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              hide_input_in_errors=True)

    # database
    database_url: PostgresUrl | None = _var(
        None, "DATABASE_URL", "database",
        "Postgres DSN; unset: an embedded Postgres under DATA_DIR/pgdata")
    data_dir: Path = _var(
        Path(".instantly-sync"), "DATA_DIR", "database",
        "local state of the embedded default")
    database_timeout_seconds: float = _var(
        5.0, "DATABASE_TIMEOUT_SECONDS", "database",
        "deadline of every database operation (connect, wait for a connection,"
        " statement); past it the request answers 503", ge=0.5, le=600)
    # instantly
    instantly_api_key: SecretStr | None = _var(
        None, "INSTANTLY_API_KEY", "instantly",
        "API v2 bearer key; unset: syncing toggles fail, reconcile passes are skipped")
    instantly_base_url: HttpUrl = _var(
        "https://api.instantly.ai", "INSTANTLY_BASE_URL", "instantly",
        "base URL of the API (point it at the fake in tests)")
    instantly_timeout_seconds: float = _var(
        15.0, "INSTANTLY_TIMEOUT_SECONDS", "instantly",
        "deadline of one logical call, retries included", ge=0.1, le=600)
    instantly_max_retries: int = _var(
        3, "INSTANTLY_MAX_RETRIES", "instantly",
        "retries on 429, 5xx and network errors", ge=0, le=20)
    instantly_max_rps: float = _var(
        10.0, "INSTANTLY_MAX_RPS", "instantly",
        "requests per second, shared by every replica on the same database (the"
        " workspace allows 100)", ge=0.1, le=10_000)
    instantly_max_rpm: int = _var(
        1200, "INSTANTLY_MAX_RPM", "instantly",
        "requests per minute, shared by every replica (the workspace allows 6,000 for all"
        " its integrations)", ge=1, le=1_000_000)
    workspace_keys: FernetKeys = _var(
        (), "WORKSPACE_KEYS", "instantly",
        "comma-separated Fernet keys that encrypt workspaces' API keys and webhook"
        " secrets in the database, newest first (`instantly-sync workspaces new-key`"
        " makes one); unset: only the default workspace (INSTANTLY_API_KEY)")
    full_pause_sync: bool = _var(
        False, "FULL_PAUSE_SYNC", "instantly",
        "true: pausing a linked campaign also pauses it remotely")
    toggle_lease_seconds: int = _var(
        60, "TOGGLE_LEASE_SECONDS", "instantly",
        "how long an in-flight toggle holds its campaign", ge=1, le=86_400)
    # http
    host: str = _var("127.0.0.1", "HOST", "http", "listen address", min_length=1)
    port: int = _var(8080, "PORT", "http", "listen port", ge=0, le=65_535)
    shutdown_grace_seconds: float = _var(
        30.0, "SHUTDOWN_GRACE_SECONDS", "http",
        "on SIGTERM, how long in-flight requests may finish; the process exits within"
        " this plus 5 s (calls still running are abandoned, their lease left for the"
        " reconciler)", ge=0, le=600)
    keepalive_timeout_seconds: float = _var(
        75.0, "KEEPALIVE_TIMEOUT_SECONDS", "http",
        "a connection is closed when it has not sent a complete request this long after"
        " opening, or has been idle this long after an answer", gt=0, le=3600)
    event_loop: EventLoop = _var(
        "auto", "EVENT_LOOP", "http",
        "auto: uvloop where it is installed, else asyncio's own; or force one of them")
    api_tokens: SecretList = _var(
        (), "API_TOKENS", "http",
        "comma-separated bearer tokens, each optionally named `name:token` (unnamed:"
        " token-1, token-2…; the name is what audits show); unset: loopback only,"
        " unauthenticated")
    admin_tokens: NameList = _var(
        (), "ADMIN_TOKENS", "http",
        "names of the API_TOKENS that may suspend and resume syncing and manage workspaces;"
        " unset: every token")
    console_refresh_seconds: float = _var(
        10.0, "CONSOLE_REFRESH_SECONDS", "http",
        "an open console page refreshes its figures this often while it is visible;"
        " 0: only on reload", ge=0, le=3600)
    # webhooks
    webhook_secrets: SecretList = _var(
        (), "WEBHOOK_SECRET", "webhooks",
        "secret expected in X-Webhook-Secret; two comma-separated values during rotation",
        max_length=2)
    webhook_public_url: HttpUrl | None = _var(
        None, "WEBHOOK_PUBLIC_URL", "webhooks",
        "the URL the external service posts events to (our POST /webhooks/instantly);"
        " unset: the webhook's health is not checked")
    webhook_auto_resume: bool = _var(
        False, "WEBHOOK_AUTO_RESUME", "webhooks",
        "true: a reconcile pass that finds our webhook disabled resumes it and backfills")
    webhook_check_spacing_seconds: float = _var(
        5.0, "WEBHOOK_CHECK_SPACING_SECONDS", "webhooks",
        "a campaign-level event's campaign is read at most once per this many seconds"
        " (events in between share the read)", ge=0, le=3600)
    webhook_retention_days: int = _var(
        30, "WEBHOOK_RETENTION_DAYS", "webhooks",
        "stored events older than this are pruned daily", ge=1, le=3650)
    # reconcile
    reconcile_interval_seconds: int = _var(
        300, "RECONCILE_INTERVAL_SECONDS", "reconcile",
        "period of the reconcile job; 0 disables the schedule", ge=0, le=7 * 86_400)
    reconcile_max_seconds: int = _var(
        900, "RECONCILE_MAX_SECONDS", "reconcile",
        "a pass whose listing takes longer fails (and changes no finding)", ge=1,
        le=86_400)
    # notify
    notify_urls: SecretList = _var(
        (), "NOTIFY_URLS", "notify",
        "comma-separated apprise URLs (Slack, Teams, e-mail, ntfy, json://…) that drift and"
        " sync-health messages go to (docs/notifications.md); unset: none are sent")
    notify_language: NotifyLanguage = _var(
        "en", "NOTIFY_LANGUAGE", "notify", "language of the messages: en or nl")
    notify_timeout_seconds: float = _var(
        10.0, "NOTIFY_TIMEOUT_SECONDS", "notify",
        "deadline of one delivery to one URL; a missed one is retried later", gt=0, le=300)
    drift_age_alert_hours: int = _var(
        24, "DRIFT_AGE_ALERT_HOURS", "notify",
        "an unexpected finding still open this long is reported (once)", ge=1, le=8760)
    notify_failed_passes: int = _var(
        3, "NOTIFY_FAILED_PASSES", "notify",
        "this many failed reconcile passes in a row are reported (and the recovery)",
        ge=1, le=100)
    notify_success_rate_below: float = _var(
        95.0, "NOTIFY_SUCCESS_RATE_BELOW", "notify",
        "the external calls' success rate over the last hour below this percentage is"
        " reported (and the recovery)", ge=0, le=100)
    notify_digest_at: DigestTime | None = _var(
        "09:00", "NOTIFY_DIGEST_AT", "notify",
        "local time (HH:MM, NOTIFY_TIMEZONE) of the daily digest; off: no digest")
    notify_timezone: TimeZoneName = _var(
        "UTC", "NOTIFY_TIMEZONE", "notify", "time zone of NOTIFY_DIGEST_AT (IANA name)")
    console_public_url: HttpUrl | None = _var(
        None, "CONSOLE_PUBLIC_URL", "notify",
        "the console's public address (https://sync.example.com); messages link to its"
        " pages when set")
    # logging
    log_format: LogFormat = _var(
        "json", "LOG_FORMAT", "logging",
        "json or console", shown_default="console on a terminal, else json")
    log_level: LogLevel = _var(
        "info", "LOG_LEVEL", "logging", "debug, info, warning, error or critical")

    @property
    def host_is_loopback(self) -> bool:
        return is_loopback(self.host)

    def named_tokens(self) -> tuple[tuple[str, str], ...]:
        """(name, token) for each of API_TOKENS: `name:token`, or token-N by position."""
        named = []
        for i, entry in enumerate(self.api_tokens, start=1):
            found = TOKEN_NAME.fullmatch(entry.get_secret_value())
            named.append((found[1], found[2]) if found else
                         (f"token-{i}", entry.get_secret_value()))
        return tuple(named)

    def is_admin(self, name: str) -> bool:
        """Whether the token named `name` may suspend and resume syncing."""
        return not self.admin_tokens or name in self.admin_tokens

    def token_problem(self) -> str | None:
        """What is wrong between API_TOKENS and ADMIN_TOKENS, as one sentence."""
        names = [name for name, _ in self.named_tokens()]
        if len(set(names)) != len(names):
            return "API_TOKENS names a token twice"
        unknown = [n for n in self.admin_tokens if n not in names]
        if unknown:
            return f"ADMIN_TOKENS names no token of API_TOKENS: {', '.join(unknown)}"
        return None

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string, for the log processor that scrubs them."""
        values = [s.get_secret_value() for s in self.webhook_secrets + self.api_tokens]
        values += [token for _, token in self.named_tokens()]
        if self.instantly_api_key:
            values.append(self.instantly_api_key.get_secret_value())
        values += [k.get_secret_value() for k in self.workspace_keys]
        if self.database_url:
            password = urlsplit(self.database_url.get_secret_value()).password
            if password:
                values.append(password)
        for url in self.notify_urls:  # tokens sit in a URL's password, path or query
            values += _url_secrets(url.get_secret_value())
        return tuple(v for v in values if v)


def _url_secrets(url: str) -> list[str]:
    """A notification URL and the parts of it that may be tokens (8 characters or more:
    its password, path segments and query values)."""
    parts = urlsplit(url)
    found = [url, parts.password or ""]
    found += [p for p in parts.path.split("/") if len(p) >= 8]
    found += [v for pair in parts.query.split("&") for v in pair.split("=")[1:] if len(v) >= 8]
    if parts.username and len(parts.username) >= 8:
        found.append(parts.username)
    return [v for v in found if v]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Variable:
    """One environment variable as documented (README table, `--help`)."""

    name: str
    group: str
    default: str
    description: str


def variables() -> list[Variable]:
    """Every variable in declaration order, with its default as text."""
    out = []
    for info in Settings.model_fields.values():
        assert info.alias and isinstance(info.json_schema_extra, dict)
        out.append(Variable(info.alias, str(info.json_schema_extra["group"]),
                            _default_text(info), info.description or ""))
    return out


def _default_text(info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "shown_default" in extra:
        return str(extra["shown_default"])
    value = info.default
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def variables_markdown() -> str:
    """The README's configuration table."""
    lines = ["| variable | group | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{v.name}` | {v.group} | `{v.default}` | {v.description} |"
              for v in variables()]
    return "\n".join(lines)


_BY_ALIAS = {info.alias: name for name, info in Settings.model_fields.items()}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate settings from the environment (or a given mapping)."""
    env = os.environ if env is None else env
    raw: dict[str, str] = {}
    for alias in _BY_ALIAS:
        value = env.get(alias, "").strip()
        if value:
            raw[alias] = value
    if "LOG_FORMAT" not in raw:
        raw["LOG_FORMAT"] = "console" if sys.stderr.isatty() else "json"
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, raw)) from None
    problem = settings.token_problem()
    if problem:
        raise ConfigError(problem)
    return settings


def _one_line(exc: ValidationError, raw: Mapping[str, str]) -> str:
    """The first problem as `NAME must ...` (a secret's value is never echoed)."""
    loc, why = first_problem(exc, Settings)
    alias = str(loc[0])
    info = Settings.model_fields[_BY_ALIAS[alias]]
    secret = "Secret" in str(info.annotation)
    # A validator's own sentence already says what it got.
    given = "" if secret or exc.errors()[0]["type"] == "value_error" \
        else f", got {raw.get(alias, '')!r}"
    return f"{alias} {why}{given}"


def require_safe_bind(settings: Settings) -> None:
    """Without API_TOKENS the API is unauthenticated, so it may only listen on loopback."""
    if not settings.api_tokens and not settings.host_is_loopback:
        raise ConfigError(
            f"API_TOKENS must be set to listen on a non-loopback HOST ({settings.host})"
        )
