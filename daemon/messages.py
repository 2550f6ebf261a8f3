"""The sentences a toggle result carries (`message`, shown in the UI's toast).

Like `daemon.errors`, never the word "Instantly": users see "external service".
"""

from __future__ import annotations

_SYNC_MESSAGES: dict[str, str] = {
    "activated": "Campaign '{name}' activated and synced with the external service.",
    "paused": "Campaign '{name}' paused and synced with the external service.",
    "local_only": (
        "Campaign '{name}' paused locally; it keeps sending in the external service"
        " until it is paused there."
    ),
    "unlinked": "Campaign '{name}' is now {status} (not linked to an external service).",
    "noop": "Campaign '{name}' is already {status}.",
}


def toggle_message(external_sync: str, *, name: str, status: str) -> str:
    """The toast sentence for one toggle result."""
    return _SYNC_MESSAGES[external_sync].format(name=name, status=status)
