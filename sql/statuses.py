"""The local campaign status: the vocabulary of `campaigns.status` (its CHECK holds the
same words; tests/test_sql_rules.py keeps them in step). docs/behaviour.md §2."""

from __future__ import annotations

from enum import StrEnum


class LocalStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
