"""Sentences people read outside the error table: a toggle result's `message` (the
UI's toast), the names of the drift kinds, and the notifications (daemon/notify.py),
the last two in English and Dutch.

Like `daemon.errors`, never the word "Instantly": users see "external service"
(tests/test_notify.py checks every sentence here).
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


# What each drift kind is called (the console's pages and the notifications).
KIND_WORDS: dict[str, tuple[str, str]] = {
    "status_mismatch": ("Status differs", "Status wijkt af"),
    "local_pause_only": ("Paused here only", "Alleen hier gepauzeerd"),
    "remote_completed": ("Completed remotely", "Extern voltooid"),
    "remote_unhealthy": ("Unhealthy remotely", "Extern ongezond"),
    "remote_missing": ("Missing remotely", "Extern verdwenen"),
    "toggle_incomplete": ("Change left unfinished", "Wijziging niet afgerond"),
}

# What a reconcile run's status is called (the console's pages and the digest).
RUN_WORDS: dict[str, tuple[str, str]] = {
    "running": ("running", "bezig"),
    "succeeded": ("succeeded", "geslaagd"),
    "failed": ("failed", "mislukt"),
    "skipped": ("skipped", "overgeslagen"),
}

# Notifications: a title and a body per kind, (English, Dutch); {fields} come from the
# message's facts. Short: a chat line, not a report.
NOTIFY_TEXT: dict[str, tuple[str, str]] = {
    "drift_new.title": ("New drift: {total} campaign(s)",
                        "Nieuwe afwijkingen: {total} campagne(s)"),
    "drift_new.body": ("A reconcile pass found drift nobody expected: {kinds}.",
                       "Een controle vond onverwachte afwijkingen: {kinds}."),
    "drift_old.title": ("Drift open for over {hours} h: {total} finding(s)",
                        "Afwijkingen langer dan {hours} u open: {total}"),
    "drift_old.body": ("Still open and unexpected: {kinds}.",
                       "Nog open en onverwacht: {kinds}."),
    "webhook_down.title": ("Webhook not delivering ({workspace})",
                           "Webhook levert niet ({workspace})"),
    "webhook_down.body": ("The external service's webhook for workspace {workspace} is"
                          " {state}: events do not arrive until it is resumed.",
                          "De webhook van de externe dienst voor werkruimte {workspace} is"
                          " {state}: er komen geen gebeurtenissen binnen tot hij hervat is."),
    "webhook_resumed.title": ("Webhook delivering again ({workspace})",
                              "Webhook levert weer ({workspace})"),
    "webhook_resumed.body": ("The webhook for workspace {workspace} is active again.",
                             "De webhook voor werkruimte {workspace} is weer actief."),
    "backfill.title": ("Missed events recovered ({workspace})",
                       "Gemiste gebeurtenissen hersteld ({workspace})"),
    "backfill.body": ("The delivery log gave back {stored} missed event(s) for workspace"
                      " {workspace} ({duplicates} had arrived already).",
                      "Het afleverlogboek gaf {stored} gemiste gebeurtenis(sen) terug voor"
                      " werkruimte {workspace} ({duplicates} waren al binnen)."),
    "backfill_failed.title": ("Backfill failed ({workspace})", "Aanvullen mislukt ({workspace})"),
    "backfill_failed.body": ("Reading the delivery log for workspace {workspace} failed:"
                             " {error}. The next pass tries again.",
                             "Het afleverlogboek lezen voor werkruimte {workspace} mislukte:"
                             " {error}. De volgende controle probeert het opnieuw."),
    "passes_failing.title": ("Reconcile failing: {count} passes in a row",
                             "Controles mislukken: {count} keer op rij"),
    "passes_failing.body": ("The last {count} reconcile passes failed; the last one: {error}.",
                            "De laatste {count} controles mislukten; de laatste: {error}."),
    "passes_recovered.title": ("Reconcile passes succeed again",
                               "Controles slagen weer"),
    "passes_recovered.body": ("A reconcile pass succeeded after failures.",
                              "Een controle slaagde na mislukkingen."),
    "success_low.title": ("External calls failing: {rate} % succeeded",
                          "Externe aanroepen mislukken: {rate} % geslaagd"),
    "success_low.body": ("Over the last hour {ok} of {calls} calls to the external service"
                         " succeeded (below {threshold} %).",
                         "Het afgelopen uur slaagden {ok} van {calls} aanroepen naar de"
                         " externe dienst (onder {threshold} %)."),
    "success_recovered.title": ("External calls succeed again: {rate} %",
                                "Externe aanroepen slagen weer: {rate} %"),
    "success_recovered.body": ("Over the last hour {ok} of {calls} calls succeeded.",
                               "Het afgelopen uur slaagden {ok} van {calls} aanroepen."),
    "digest.title": ("Daily digest {day}", "Dagoverzicht {day}"),
    "digest.drift": ("Open drift: {items}.", "Open afwijkingen: {items}."),
    "digest.no_drift": ("No open drift.", "Geen open afwijkingen."),
    "digest.passes": ("Passes in 24 h: {items}.", "Controles in 24 u: {items}."),
    "digest.events": ("Events in 24 h: {items}.", "Gebeurtenissen in 24 u: {items}."),
    "digest.no_events": ("No events in 24 h.", "Geen gebeurtenissen in 24 u."),
    "digest.calls": ("External calls in 24 h: {calls}, {rate} % succeeded.",
                     "Externe aanroepen in 24 u: {calls}, {rate} % geslaagd."),
    "digest.oldest": ("{kind} {n} (oldest {hours} h)", "{kind} {n} (oudste {hours} u)"),
    "test.title": ("Test message", "Testbericht"),
    "test.body": ("Notifications from the campaign sync service reach this channel.",
                  "Meldingen van de campagnesynchronisatie komen in dit kanaal aan."),
    "state.disabled": ("disabled", "uitgeschakeld"),
    "state.missing": ("missing", "verdwenen"),
    "state.secret_mismatch": ("sending a secret we do not accept",
                              "stuurt een geheim dat we niet aanvaarden"),
    **{f"run.{status}": words for status, words in RUN_WORDS.items()},
    "more": ("{names} and more", "{names} en meer"),
    "link": ("Open: {url}", "Openen: {url}"),
}
