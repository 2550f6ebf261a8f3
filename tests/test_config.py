"""README, Configuration: every variable validated at start-up, secrets never shown."""

from __future__ import annotations

import pytest

from daemon.cli import build_parser
from daemon.config import (
    GROUPS,
    ConfigError,
    Settings,
    load_settings,
    require_safe_bind,
    variables,
    variables_markdown,
)
from tests.factories import ROOT


def test_defaults_match_the_spec() -> None:
    s = load_settings({})
    assert s.database_url is None
    assert str(s.data_dir) == ".instantly-sync"
    assert s.instantly_api_key is None
    assert s.instantly_base_url == "https://api.instantly.ai"
    assert s.full_pause_sync is False
    assert s.reconcile_interval_seconds == 300
    assert s.webhook_secrets == ()
    assert s.api_tokens == ()
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.instantly_timeout_seconds == 15
    assert s.instantly_max_retries == 3
    assert s.instantly_max_rps == 10
    assert s.toggle_lease_seconds == 60
    assert s.webhook_retention_days == 30
    assert s.log_level == "info"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECONCILE_INTERVAL_SECONDS", "five"),
        ("RECONCILE_INTERVAL_SECONDS", "-1"),
        ("FULL_PAUSE_SYNC", "maybe"),
        ("INSTANTLY_BASE_URL", "ftp://example.com"),
        ("INSTANTLY_BASE_URL", "not a url"),
        ("PORT", "70000"),
        ("INSTANTLY_TIMEOUT_SECONDS", "0"),
        ("INSTANTLY_MAX_RETRIES", "x"),
        ("INSTANTLY_MAX_RPS", "fast"),
        ("TOGGLE_LEASE_SECONDS", "0"),
        ("WEBHOOK_RETENTION_DAYS", "1.5"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "loud"),
        ("DATABASE_URL", "mysql://u:p@h/db"),
        ("WEBHOOK_SECRET", "a,b,c"),
        ("API_TOKENS", "a,,b"),
    ],
)
def test_invalid_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    assert name in str(info.value)


def test_database_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"DATABASE_URL": "mysql://user:hunter2pass@db/x"})
    assert "hunter2pass" not in str(info.value)


def test_booleans_accept_common_spellings() -> None:
    assert load_settings({"FULL_PAUSE_SYNC": "TRUE"}).full_pause_sync is True
    assert load_settings({"FULL_PAUSE_SYNC": "0"}).full_pause_sync is False


def test_secrets_are_hidden_from_repr() -> None:
    s = load_settings({
        "INSTANTLY_API_KEY": "key-abcdef123",
        "WEBHOOK_SECRET": "whsec-one,whsec-two",
        "API_TOKENS": "tok-1234",
        "DATABASE_URL": "postgresql://u:dbpass99@localhost/x",
    })
    text = repr(s) + str(s)
    for secret in ("key-abcdef123", "whsec-one", "whsec-two", "tok-1234", "dbpass99"):
        assert secret not in text
    assert set(s.secret_values()) == {"key-abcdef123", "whsec-one", "whsec-two", "tok-1234",
                                      "dbpass99"}


def test_two_webhook_secrets_for_rotation() -> None:
    s = load_settings({"WEBHOOK_SECRET": "old, new"})
    assert [x.get_secret_value() for x in s.webhook_secrets] == ["old", "new"]


def test_non_loopback_bind_requires_api_tokens() -> None:
    with pytest.raises(ConfigError, match="API_TOKENS"):
        require_safe_bind(load_settings({"HOST": "0.0.0.0"}))
    require_safe_bind(load_settings({"HOST": "0.0.0.0", "API_TOKENS": "t"}))
    require_safe_bind(load_settings({"HOST": "127.0.0.1"}))
    require_safe_bind(load_settings({"HOST": "::1"}))


def test_readme_table_is_generated_from_the_settings() -> None:
    """Each variable is declared once (daemon/config.py); the README shows that table."""
    readme = (ROOT / "README.md").read_text()
    assert variables_markdown() in readme, "regenerate with daemon.config.variables_markdown()"


def test_every_variable_has_a_group_and_a_description() -> None:
    names = [v.name for v in variables()]
    assert len(names) == len(set(names)) == len(Settings.model_fields)
    assert all(v.description and v.group in GROUPS for v in variables())


def test_serve_help_lists_every_variable(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    out = capsys.readouterr().out
    assert all(v.name in out for v in variables())
