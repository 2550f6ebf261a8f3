"""The one error map: every code any domain error can carry has a row in the table.

Modelled on httpx's "all exceptions are mapped" test: walk each error tree,
instantiate every class, map it, and check the answer is in the table and
speaks of "external service", never of Instantly.
"""

from __future__ import annotations

import inspect

import pytest

from daemon.errors import DOMAIN_ERRORS, ERRORS, ApiError, api_error
from instantly import errors as external


def _tree(base: type[Exception]) -> list[type[Exception]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _tree(sub)
    return found


def _instance(cls: type[Exception]) -> Exception:
    params = inspect.signature(cls.__init__).parameters
    if "since" in params:
        return cls(by="ops", since="2026-01-01 00:00 UTC", reason="key rotation")  # type: ignore[call-arg]
    if "remote_status" in params:
        return cls("activate", -99)  # type: ignore[call-arg]
    if "status" in params:
        return cls(418)  # type: ignore[call-arg]
    if "reason" in params:
        return cls("why")  # type: ignore[call-arg]
    if "workspace" in params:
        return cls("acme")  # type: ignore[call-arg]
    if "scope" in params:
        return cls("campaigns:update")  # type: ignore[call-arg]
    return cls()


ALL_ERRORS = sorted({c for base in DOMAIN_ERRORS for c in _tree(base)
                     if getattr(c, "code", None)}, key=lambda c: c.__qualname__)


def test_every_domain_error_class_has_a_code() -> None:
    uncoded = [c.__qualname__ for base in DOMAIN_ERRORS for c in _tree(base)
               if c is not base and not getattr(c, "code", None)]
    assert uncoded == []
    assert len(ALL_ERRORS) >= 20  # the walk found the trees


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__qualname__)
def test_every_error_maps_to_a_row_of_the_table(cls: type[Exception]) -> None:
    error = api_error(_instance(cls))
    assert error is not None
    assert error.code == cls.code  # type: ignore[attr-defined]
    assert error.code in ERRORS
    assert error.status == ERRORS[error.code][0]
    assert "{" not in error.message  # every placeholder was filled
    assert "instantly" not in error.message.lower()


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_no_sentence_names_the_external_service(code: str) -> None:
    assert "instantly" not in ERRORS[code][1].lower()


def test_a_status_error_names_its_status_and_rate_limits_say_when_to_retry() -> None:
    error = api_error(external.ExternalStatusError(503))
    assert error is not None and "(503)" in error.message
    limited = api_error(external.ExternalRateLimited(12))
    assert limited is not None and limited.retry_after == 12
    assert api_error(ApiError("not_found")).code == "not_found"  # type: ignore[union-attr]


@pytest.mark.parametrize(("code", "words"), [
    (0, "a draft"), (2, "paused"), (3, "completed"), (-1, "accounts are unhealthy"),
    (-2, "bounce protection"), (-99, "account is suspended"), (7, "unknown state (7)")])
def test_a_refused_change_names_the_reported_state(code: int, words: str) -> None:
    error = api_error(external.ExternalRefused("activate", code))
    assert error is not None and error.status == 409
    assert error.message.startswith("Campaign was not activated: ")
    assert words in error.message


def test_a_bug_is_not_mapped() -> None:
    assert api_error(KeyError("x")) is None
