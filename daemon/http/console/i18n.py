"""Every sentence the console shows, in English and Dutch.

English error sentences come from `daemon.errors.ERRORS`; `ERRORS_NL` holds
their Dutch form under the same codes (a test checks none is missing and that
none names the external service). The language is chosen by `?lang=`, then
the `isync_lang` cookie, then Accept-Language.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.errors import ERRORS, ApiError
from daemon.http.console import formats
from daemon.messages import KIND_WORDS, RUN_WORDS

LANGUAGES = ("en", "nl")
LANG_COOKIE = "isync_lang"

TEXT: dict[str, tuple[str, str]] = {  # key: (English, Dutch)
    "title": ("Campaign sync console", "Campagne-synchronisatie"),
    "nav.campaigns": ("Campaigns", "Campagnes"),
    "nav.drift": ("Drift", "Afwijkingen"),
    "nav.runs": ("Runs", "Controles"),
    "nav.health": ("Sync health", "Synchronisatie"),
    "nav.signout": ("Sign out", "Afmelden"),
    "nav.language": ("Language", "Taal"),
    "signin.title": ("Sign in", "Aanmelden"),
    "signin.token": ("Access token", "Toegangstoken"),
    "signin.submit": ("Sign in", "Aanmelden"),
    "signin.wrong": ("That token is not valid.", "Dat token is niet geldig."),
    "signin.expired": ("Please sign in.", "Meld u aan."),
    "signin.ended": ("Your session has ended. Please sign in again.",
                     "Uw sessie is afgelopen. Meld u opnieuw aan."),
    "signin.signed_out": ("You have signed out.", "U bent afgemeld."),
    "csrf.refused": ("The form expired. Please try again.",
                     "Het formulier is verlopen. Probeer het opnieuw."),
    "col.client": ("Client", "Klant"),
    "col.workspace": ("Workspace", "Werkruimte"),
    "nav.workspaces": ("Workspaces", "Werkruimten"),
    "notify.title": ("Notifications", "Meldingen"),
    "notify.target": ("Sent to", "Verstuurd naar"),
    "notify.last_attempt": ("Last attempt", "Laatste poging"),
    "notify.result": ("Result", "Resultaat"),
    "notify.last_delivered": ("Last delivered", "Laatst afgeleverd"),
    "notify.ok": ("delivered", "afgeleverd"),
    "notify.none": ("No notification URLs are set (NOTIFY_URLS).",
                    "Er zijn geen meldings-URL's ingesteld (NOTIFY_URLS)."),
    "ws.intro": ("Each workspace has its own API key, call budget, webhook and campaigns; a"
                 " campaign belongs to its client's workspace. The default workspace is set"
                 " by the environment.",
                 "Elke werkruimte heeft een eigen API-sleutel, belbudget, webhook en"
                 " campagnes; een campagne hoort bij de werkruimte van haar klant. De"
                 " standaardwerkruimte wordt ingesteld via de omgeving."),
    "ws.key": ("API key", "API-sleutel"),
    "ws.key_stored": ("stored", "opgeslagen"),
    "ws.no_key": ("none", "geen"),
    "ws.rotated": ("replaced {at}", "vervangen {at}"),
    "ws.webhook_url": ("Webhook URL", "Webhook-URL"),
    "ws.budget": ("Budget", "Budget"),
    "ws.clients": ("Clients", "Klanten"),
    "ws.linked": ("Linked campaigns", "Gekoppelde campagnes"),
    "ws.enabled": ("enabled", "ingeschakeld"),
    "ws.new_key": ("New API key", "Nieuwe API-sleutel"),
    "ws.rotate": ("Replace the key", "Sleutel vervangen"),
    "ws.assign_client": ("Client id", "Klant-id"),
    "ws.assign": ("Move the client here", "Klant hierheen verplaatsen"),
    "ws.enable": ("Enable", "Inschakelen"),
    "ws.disable": ("Disable: send it nothing", "Uitschakelen: niets meer sturen"),
    "ws.add": ("Add a workspace", "Werkruimte toevoegen"),
    "ws.name": ("Name (lowercase letters, digits, dashes)",
                "Naam (kleine letters, cijfers, streepjes)"),
    "ws.api_key": ("API key", "API-sleutel"),
    "ws.webhook_secret": ("Webhook secret (optional)", "Webhookgeheim (optioneel)"),
    "ws.max_rps": ("Calls per second (optional)", "Aanroepen per seconde (optioneel)"),
    "ws.max_rpm": ("Calls per minute (optional)", "Aanroepen per minuut (optioneel)"),
    "ws.add_button": ("Check the key and add", "Sleutel controleren en toevoegen"),
    "ws.admin_only": ("Changing workspaces needs an admin token (ADMIN_TOKENS).",
                      "Werkruimten wijzigen vraagt een beheerderstoken (ADMIN_TOKENS)."),
    "ws.added": ("Workspace added.", "Werkruimte toegevoegd."),
    "ws.key_rotated": ("Key replaced; every replica uses it from its next call.",
                       "Sleutel vervangen; elke replica gebruikt hem vanaf de volgende"
                       " aanroep."),
    "ws.assigned": ("Client moved.", "Klant verplaatst."),
    "ws.enabled_done": ("Workspace enabled.", "Werkruimte ingeschakeld."),
    "ws.disabled_done": ("Workspace disabled: nothing is sent to it.",
                         "Werkruimte uitgeschakeld: er wordt niets meer naartoe gestuurd."),
    "overview.workspaces": ("Workspaces", "Werkruimten"),
    "overview.listing": ("Last listing", "Laatste lijst"),
    "overview.disabled": ("disabled", "uitgeschakeld"),
    "overview.ws_calls": ("Calls of any kind, last 24 h (answered ok)",
                          "Aanroepen van elke soort, laatste 24 u (goed beantwoord)"),
    "col.name": ("Name", "Naam"),
    "col.linked": ("Linked campaign", "Gekoppelde campagne"),
    "col.status": ("Status", "Status"),
    "col.remote": ("Last known remote status", "Laatst bekende externe status"),
    "col.events": ("Events", "Gebeurtenissen"),
    "col.switch": ("On/off", "Aan/uit"),
    "col.select": ("Select", "Selecteer"),
    "col.when": ("When", "Wanneer"),
    "col.change": ("Change", "Wijziging"),
    "col.source": ("Source", "Bron"),
    "col.external": ("External call", "Externe aanroep"),
    "col.outcome": ("Outcome", "Resultaat"),
    "col.kind": ("Kind", "Soort"),
    "col.age": ("Open for", "Staat open"),
    "col.remote_id": ("Remote id", "Extern id"),
    "col.expected": ("Expected", "Verwacht"),
    "col.local": ("Local", "Lokaal"),
    "col.actions": ("Actions", "Acties"),
    "col.run": ("Run", "Controle"),
    "col.started": ("Started", "Gestart"),
    "col.duration": ("Duration", "Duur"),
    "col.opened": ("Opened", "Geopend"),
    "col.resolved": ("Resolved", "Opgelost"),
    "col.open_after": ("Open after", "Open na afloop"),
    "col.type": ("Type", "Type"),
    "col.count": ("Count", "Aantal"),
    "filter.all": ("All", "Alle"),
    "filter.apply": ("Filter", "Filteren"),
    "filter.linked": ("Linked", "Gekoppeld"),
    "filter.unlinked": ("Not linked", "Niet gekoppeld"),
    "page.next": ("Next page", "Volgende pagina"),
    "page.first": ("First page", "Eerste pagina"),
    "none": ("Nothing here.", "Niets te tonen."),
    "yes": ("yes", "ja"),
    "no": ("no", "nee"),
    "unknown": ("unknown", "onbekend"),
    "not_linked": ("not linked", "niet gekoppeld"),
    # The switch's name; role=switch and aria-checked say whether it is on.
    "switch.label": ("Campaign {name}", "Campagne {name}"),
    "skip": ("Skip to content", "Naar de inhoud"),
    "nav.overview": ("Overview", "Overzicht"),
    "disagree.unhealthy": ("The external service holds it back; a person must act there.",
                           "De externe dienst houdt haar tegen; daar moet iemand ingrijpen."),
    "disagree.still_sending": ("Paused here only: it is still sending.",
                               "Alleen hier gepauzeerd: ze verstuurt nog."),
    "disagree.mismatch": ("The external service says {remote}, here it is {local}.",
                          "De externe dienst zegt {remote}, hier is ze {local}."),
    "overview.title": ("Overview", "Overzicht"),
    "overview.drift": ("Open drift", "Openstaande afwijkingen"),
    "overview.open": ("Open", "Open"),
    "overview.oldest": ("Oldest open for", "Oudste staat open"),
    "overview.no_drift": ("No open drift.", "Geen openstaande afwijkingen."),
    "overview.not_checked": ("Not checked by a pass yet.",
                             "Nog niet door een controleronde bekeken."),
    "overview.calls": ("External calls, last 24 h", "Externe aanroepen, laatste 24 uur"),
    "overview.calls_figures": ("{calls} calls, {rate} % succeeded, p95 {p95} ms",
                               "{calls} aanroepen, {rate} % geslaagd, p95 {p95} ms"),
    "overview.no_calls": ("No external calls in the last 24 h.",
                          "Geen externe aanroepen in de laatste 24 uur."),
    "overview.passes": ("Reconcile passes", "Controlerondes"),
    "overview.last_run": ("Last pass #{id}: {status}, {at}", "Laatste ronde #{id}: {status}, {at}"),
    "overview.no_runs": ("No pass yet.", "Nog geen controleronde."),
    "overview.next_run": ("Next pass: {at}", "Volgende ronde: {at}"),
    "overview.no_schedule": ("No scheduled passes (RECONCILE_INTERVAL_SECONDS is 0).",
                             "Geen geplande rondes (RECONCILE_INTERVAL_SECONDS is 0)."),
    # ✓ (U+2713) is in the common text fonts; the emoji ✅ was a missing glyph without one.
    "toast.activated": ("Campaign activated! ✓", "Campagne geactiveerd! ✓"),
    "toast.paused": ("Campaign paused.", "Campagne gepauzeerd."),
    "toast.failed_suffix": ("", ""),
    "bulk.title": ("Selected campaigns", "Geselecteerde campagnes"),
    "bulk.activate": ("Activate selected", "Geselecteerde activeren"),
    "bulk.pause": ("Pause selected", "Geselecteerde pauzeren"),
    "bulk.results": ("Results", "Resultaten"),
    "bulk.done": ("{ok} changed, {failed} failed.", "{ok} gewijzigd, {failed} mislukt."),
    "bulk.none": ("Select at least one campaign.", "Selecteer ten minste één campagne."),
    "link.title": ("Link to a remote campaign", "Koppelen aan een externe campagne"),
    "link.id": ("Remote campaign id (empty: unlink)", "Id externe campagne (leeg: ontkoppelen)"),
    "link.save": ("Save link", "Koppeling opslaan"),
    "link.saved": ("Link saved.", "Koppeling opgeslagen."),
    "link.removed": ("Link removed.", "Koppeling verwijderd."),
    "link.invalid": ("That is not a remote campaign id (a UUID). Nothing was changed.",
                     "Dat is geen id van een externe campagne (een UUID). Er is niets gewijzigd."),
    "detail.history": ("History", "Geschiedenis"),
    "detail.events": ("Webhook events", "Webhook-gebeurtenissen"),
    "unit.hour": ("h", "u"),
    "budget.title": ("External API budget", "Budget van de externe API"),
    "budget.limits": ("Workspace {workspace}, shared by every replica: {rps} calls per"
                      " second, {rpm} per minute.",
                      "Werkruimte {workspace}, gedeeld door alle replica's: {rps} aanroepen"
                      " per seconde, {rpm} per minuut."),
    "budget.attempts": ("Attempts in this period", "Pogingen in deze periode"),
    "budget.rate_limited": ("Answered 429 (too many requests)",
                            "Beantwoord met 429 (te veel verzoeken)"),
    "budget.wait": ("Wait for budget, p50 / p95", "Wachten op budget, p50 / p95"),
    "budget.action": ("Call", "Aanroep"),
    "budget.outcome": ("Outcome", "Uitkomst"),
    "chart.budget": ("Busiest minute's calls against the limit, {span}",
                     "Drukste minuut tegen de limiet, {span}"),
    "chart.limit": ("limit", "limiet"),
    "axis.per_minute": ("calls per minute", "per minuut"),
    "sync.title": ("Syncing", "Synchronisatie met de externe dienst"),
    "sync.state_on": ("On: changes are sent to the external service.",
                      "Aan: wijzigingen gaan naar de externe dienst."),
    "sync.state_suspended": ("Suspended by {by} since {since}.",
                             "Onderbroken door {by} sinds {since}."),
    "sync.banner_title": ("Syncing is suspended.", "Synchroniseren is onderbroken."),
    "sync.banner": ("By {by} since {since}: {reason}. Changes of linked campaigns are refused;"
                    " webhooks and drift detection go on.",
                    "Door {by} sinds {since}: {reason}. Wijzigingen van gekoppelde campagnes"
                    " worden geweigerd; webhooks en de controle op afwijkingen gaan door."),
    "sync.banner_no_read": ("Reads are suspended too: reconcile passes are skipped.",
                            "Ook lezen is onderbroken: controlerondes worden overgeslagen."),
    "sync.reason": ("Reason (shown to everyone refused meanwhile)",
                    "Reden (te zien voor iedereen die intussen geweigerd wordt)"),
    "sync.no_read": ("Stop reads too (reconcile passes are skipped)",
                     "Ook lezen stoppen (controlerondes worden overgeslagen)"),
    "sync.confirm": ("Yes, refuse every change sent to the external service until resumed",
                     "Ja, weiger elke wijziging naar de externe dienst tot hervatten"),
    "sync.confirm_needed": ("Tick the confirmation to suspend syncing. Nothing was changed.",
                            "Vink de bevestiging aan om te onderbreken. Er is niets gewijzigd."),
    "sync.suspend": ("Suspend syncing", "Synchroniseren onderbreken"),
    "sync.resume": ("Resume syncing", "Synchroniseren hervatten"),
    "sync.suspended_done": ("Syncing suspended.", "Synchroniseren onderbroken."),
    "sync.resumed_done": ("Syncing resumed.", "Synchroniseren hervat."),
    "sync.admin_only": ("Suspending and resuming needs an admin token (ADMIN_TOKENS).",
                        "Onderbreken en hervatten vraagt een beheerderstoken (ADMIN_TOKENS)."),
    "sync.history_link": ("Every suspension", "Alle onderbrekingen"),
    "sync.history": ("Suspensions of syncing", "Onderbrekingen van de synchronisatie"),
    "sync.col.suspended": ("Suspended", "Onderbroken"),
    "sync.col.by": ("By", "Door"),
    "sync.col.reason": ("Reason", "Reden"),
    "sync.col.reads": ("Reads went on", "Lezen ging door"),
    "sync.col.resumed": ("Resumed", "Hervat"),
    "sync.col.resumed_by": ("Resumed by", "Hervat door"),
    "sync.still": ("still suspended", "nog onderbroken"),
    "sync.never": ("Syncing was never suspended.", "Synchroniseren is nooit onderbroken."),
    "error.title": ("This page cannot be shown", "Deze pagina kan niet getoond worden"),
    "chart.range": ("Time range", "Periode"),
    "span.24h": ("last 24 hours", "laatste 24 uur"),
    "span.7d": ("last 7 days", "laatste 7 dagen"),
    "span.30d": ("last 30 days", "laatste 30 dagen"),
    "span.short.24h": ("24 h", "24 u"),
    "span.short.7d": ("7 d", "7 d"),
    "span.short.30d": ("30 d", "30 d"),
    "chart.summary": ("{title}: {measured} of {total} periods measured; highest {peak} ({at}).",
                      "{title}: {measured} van {total} perioden gemeten; hoogste {peak} ({at})."),
    "chart.events": ("Webhook events, {span}", "Webhook-gebeurtenissen, {span}"),
    "chart.calls": ("External calls, {span}", "Externe aanroepen, {span}"),
    "chart.success": ("Calls that succeeded, {span}", "Geslaagde aanroepen, {span}"),
    "chart.latency": ("Call duration (95th percentile), {span}",
                      "Duur van aanroepen (95e percentiel), {span}"),
    "chart.run": ("pass #{id}", "ronde #{id}"),
    "chart.no_events": ("No events yet in this period.",
                        "Nog geen gebeurtenissen in deze periode."),
    "chart.no_calls": ("No external calls in this period.",
                       "Geen externe aanroepen in deze periode."),
    "chart.no_runs": ("No passes yet.", "Nog geen rondes."),
    "axis.events.24h": ("events per hour", "per uur"),
    "axis.events.7d": ("events per 6 hours", "per 6 uur"),
    "axis.events.30d": ("events per day", "per dag"),
    "axis.calls.24h": ("calls per hour", "per uur"),
    "axis.calls.7d": ("calls per 6 hours", "per 6 uur"),
    "axis.calls.30d": ("calls per day", "per dag"),
    "axis.percent": ("% succeeded", "% geslaagd"),
    "axis.ms": ("milliseconds", "milliseconden"),
    "axis.findings": ("open findings", "open afwijkingen"),
    "axis.seconds": ("seconds", "seconden"),
    "subscription.active": ("active: events arrive", "actief: gebeurtenissen komen binnen"),
    "subscription.disabled": ("disabled by the external service after failed deliveries",
                              "uitgeschakeld door de externe dienst na mislukte afleveringen"),
    "subscription.missing": ("missing: no subscription points at this service",
                             "ontbreekt: geen abonnement wijst naar deze dienst"),
    "subscription.secret_mismatch": ("secret mismatch: deliveries will be refused",
                                     "geheim komt niet overeen: afleveringen worden geweigerd"),
    "subscription.unconfigured": ("not configured (WEBHOOK_PUBLIC_URL unset)",
                                  "niet ingesteld (WEBHOOK_PUBLIC_URL ontbreekt)"),
    "health.url": ("Address", "Adres"),
    "detail.back": ("Back to campaigns", "Terug naar campagnes"),
    "drift.title": ("Open drift findings", "Openstaande afwijkingen"),
    "drift.csv": ("Download CSV", "CSV downloaden"),
    "drift.confirm": ("Confirm", "Bevestigen"),
    "drift.cancel": ("Cancel", "Annuleren"),
    "drift.note": ("Note", "Notitie"),
    "drift.confirm_title": ("Resolve this finding?", "Deze afwijking oplossen?"),
    "drift.resolved": ("Finding resolved.", "Afwijking opgelost."),
    "drift.acknowledged": ("Finding acknowledged: it stays listed under Acknowledged.",
                           "Afwijking bevestigd als gezien: ze blijft zichtbaar onder Gezien."),
    "drift.reopened": ("Finding reopened.", "Afwijking heropend."),
    "drift.acknowledged_list": ("Acknowledged", "Gezien"),
    "drift.open_list": ("Open", "Open"),
    "col.acknowledged": ("Acknowledged", "Bevestigd"),
    "col.by": ("Through", "Via"),
    "col.note": ("Note", "Notitie"),
    "drift.stale": ("This finding changed since it was shown. Its current state is below.",
                    "Deze afwijking is gewijzigd sinds ze getoond werd. Hieronder de huidige"
                    " stand."),
    "action.adopt_remote": ("Adopt remote status", "Externe status overnemen"),
    "action.push_local": ("Push local status", "Lokale status doorzetten"),
    "action.acknowledge": ("Acknowledge", "Bevestigen als gezien"),
    "action.reopen": ("Un-acknowledge", "Terug naar open"),
    "runs.title": ("Reconcile passes", "Controlerondes"),
    "runs.chart_open": ("Open findings after each pass", "Open afwijkingen na elke ronde"),
    "runs.chart_seconds": ("Pass duration (s)", "Duur per ronde (s)"),
    "health.title": ("Sync health", "Synchronisatie"),
    "health.subscription": ("Webhook subscription", "Webhook-abonnement"),
    "health.events": ("Webhook events", "Webhook-gebeurtenissen"),
    "health.calls": ("External calls", "Externe aanroepen"),
    "health.success": ("succeeded", "geslaagd"),
    "health.failed": ("failed", "mislukt"),
    "health.state": ("State", "Stand"),
    "health.unchecked": ("Could not be checked: {reason}",
                         "Kon niet worden gecontroleerd: {reason}"),
    "status.draft": ("draft", "concept"),
    "status.active": ("active", "actief"),
    "status.paused": ("paused", "gepauzeerd"),
    "status.completed": ("completed", "voltooid"),
    "remote.-99": ("suspended", "geschorst"),
    "remote.-2": ("bounce protection", "bounce-bescherming"),
    "remote.-1": ("accounts unhealthy", "accounts ongezond"),
    "remote.0": ("draft", "concept"),
    "remote.1": ("active", "actief"),
    "remote.2": ("paused", "gepauzeerd"),
    "remote.3": ("completed", "voltooid"),
    "remote.4": ("active (subsequences)", "actief (vervolgreeksen)"),
    "source.api": ("request", "verzoek"),
    "source.bulk": ("bulk change", "bulkwijziging"),
    "source.console": ("ops console", "beheerconsole"),
    "source.webhook": ("webhook event", "webhook-gebeurtenis"),
    "source.reconciler": ("reconcile pass", "controleronde"),
    "source.resolution": ("drift resolution", "oplossing afwijking"),
    "outcome.applied": ("applied", "doorgevoerd"),
    "outcome.confirmed_by_read": ("applied (confirmed by reading the campaign)",
                                  "doorgevoerd (bevestigd door de campagne te lezen)"),
    "outcome.lease_lost": ("overtaken by another change", "ingehaald door een andere wijziging"),
    "outcome.external_failed": ("external call failed", "externe aanroep mislukt"),
    "outcome.refused": ("refused by the external service", "geweigerd door de externe dienst"),
    "outcome.answer_unusable": ("external answer unusable", "extern antwoord onbruikbaar"),
    "outcome.suspended": ("not sent: syncing suspended",
                          "niet verstuurd: synchroniseren onderbroken"),
    "outcome.settled_applied": ("completed after a crash", "afgerond na een crash"),
    "outcome.settled_cleared": ("cleared after a crash", "opgeruimd na een crash"),
    "call.activate": ("activate", "activeren"),
    "call.pause": ("pause", "pauzeren"),
    **{f"run.{status}": words for status, words in RUN_WORDS.items()},  # daemon/messages.py
    **{f"kind.{kind}": words for kind, words in KIND_WORDS.items()},  # daemon/messages.py
}

ERRORS_NL: dict[str, str] = {
    "unauthorized": "Een geldig toegangstoken is vereist.",
    "not_found": "Dit adres bestaat niet.",
    "method_not_allowed": "Deze methode is hier niet toegestaan.",
    "invalid_json": "De inhoud van het verzoek is geen geldige JSON.",
    "invalid_body": "Ongeldige inhoud van het verzoek: {detail}.",
    "invalid_parameter": "Ongeldige parameter {name}: {detail}.",
    "invalid_id": "Het id in het adres is geen geldige UUID.",
    "body_too_large": "De inhoud van het verzoek is groter dan {limit} bytes.",
    "invalid_encoding": "De inhoud van het verzoek past niet bij de Content-Encoding.",
    "request_incomplete": "De verbinding sloot voordat de inhoud van het verzoek binnen was.",
    "unsupported_media_type": "De inhoud moet JSON zijn (Content-Type: application/json).",
    "campaign_not_found": "Campagne niet gevonden.",
    "external_id_in_use": "Die externe campagne is al aan een andere campagne gekoppeld.",
    "campaign_completed": "De campagne is voltooid en kan niet worden omgezet.",
    "status_conflict": "De status van de campagne veranderde tijdens dit verzoek. Probeer het"
                       " opnieuw.",
    "toggle_in_progress": "Er loopt al een statuswijziging voor deze campagne.",
    "invalid_status": "De status moet \"active\" of \"paused\" zijn.",
    "idempotency_key_reused": "Deze Idempotency-Key is al gebruikt voor een ander verzoek.",
    "idempotency_key_in_progress": "Een verzoek met deze Idempotency-Key loopt nog.",
    "invalid_idempotency_key": "Idempotency-Key moet 1 tot 200 leesbare tekens zijn.",
    "external_config_missing": "Configuratie van de externe dienst ontbreekt. Neem contact op"
                               " met de beheerder.",
    "external_auth_failed": "Status wijziging mislukt: aanmelden bij de externe dienst is"
                            " mislukt. Neem contact op met de beheerder.",
    "external_permission_missing": "Toestemming ontbreekt bij de externe dienst: de sleutel"
                                   " heeft de toestemming {scope} nodig. Neem contact op met"
                                   " de beheerder.",
    "external_not_found": "Campagne niet gevonden bij de externe dienst. Controleer of de"
                          " campagne bestaat.",
    "external_rate_limited": "Limiet van de externe dienst bereikt. Probeer het over een paar"
                             " minuten opnieuw.",
    "external_error": "Status wijziging mislukt ({status}). Probeer het opnieuw of neem contact"
                      " op met support.",
    "external_refused": "De campagne is niet {action}: de externe dienst meldt haar als"
                        " {state}.",
    "external_unreachable": "Geen verbinding met de externe dienst. Controleer uw"
                            " internetverbinding en probeer het opnieuw.",
    "database_unavailable": "Dienst tijdelijk niet beschikbaar. Probeer het zo opnieuw.",
    "internal_error": "Interne fout. Probeer het opnieuw of neem contact op met support.",
    "webhooks_not_configured": "De webhook-ontvanger is niet ingesteld.",
    "invalid_webhook_secret": "Webhook-geheim ontbreekt of is ongeldig.",
    "invalid_event": "Ongeldige gebeurtenis: {detail}.",
    "webhook_url_not_configured": "De publieke webhook-URL is niet ingesteld; het"
                                  " afleverlogboek kan er niet voor worden gelezen.",
    "reconcile_in_progress": "Er loopt al een controleronde.",
    "run_not_found": "Controleronde niet gevonden.",
    "finding_not_found": "Afwijking niet gevonden.",
    "finding_already_resolved": "De afwijking is al opgelost.",
    "invalid_action": "Actie moet \"adopt_remote\", \"push_local\", \"acknowledge\" of"
                      " \"reopen\" zijn.",
    "sync_suspended": "Synchroniseren met de externe dienst is onderbroken (door {by} sinds"
                      " {since}: {reason}). Er is niets gewijzigd.",
    "sync_already_suspended": "Synchroniseren is al onderbroken; hervat het eerst.",
    "sync_not_suspended": "Synchroniseren is niet onderbroken.",
    "admin_only": "Hiervoor is een beheerderstoken nodig (ADMIN_TOKENS).",
    "invalid_reason": "Een reden van 1 tot 500 tekens is verplicht.",
    "workspace_disabled": "De werkruimte van deze campagne ({workspace}) is uitgeschakeld:"
                          " er wordt niets naar de externe dienst gestuurd. Er is niets"
                          " gewijzigd.",
    "workspace_not_found": "Er is geen werkruimte met die naam.",
    "workspace_exists": "Er bestaat al een werkruimte met die naam.",
    "workspace_in_use": "De werkruimte kan niet worden verwijderd: het is de standaard-"
                        "werkruimte of er zijn campagnes in gekoppeld. Ontkoppel die eerst.",
    "client_linked_elsewhere": "De klant heeft gekoppelde campagnes in zijn huidige"
                               " werkruimte; ontkoppel die voordat u hem verplaatst.",
    "default_workspace_env": "De standaardwerkruimte wordt ingesteld via de omgeving"
                             " (API-sleutel, webhookgeheim en webhook-URL); wijzig het daar.",
    "workspace_keys_missing": "Werkruimtesleutels kunnen niet worden opgeslagen of gelezen:"
                              " WORKSPACE_KEYS is niet ingesteld. Neem contact op met de"
                              " beheerder.",
    "workspace_key_unknown": "Een opgeslagen werkruimtesleutel kan niet worden ontsleuteld"
                             " met WORKSPACE_KEYS. Neem contact op met de beheerder.",
    "finding_not_acknowledged": "De afwijking is niet als gezien bevestigd en kan dus niet"
                                " heropend worden.",
    "drift_changed": "De externe campagne is gewijzigd sinds deze afwijking werd vastgelegd."
                     " Bekijk haar opnieuw.",
    "not_fixable_remotely": "De externe campagne is ongezond of geschorst; los het op in het"
                            " dashboard van de externe dienst.",
    "campaign_unlinked": "De campagne is niet aan een externe campagne gekoppeld.",
    "action_not_applicable": "Deze actie kan dit soort afwijking niet oplossen.",
}
# The words `external_refused` and `invalid_parameter` fill in, in Dutch.
_FIELDS_NL = {
    "is not a valid cursor": "is geen geldige cursor",
    "activated": "geactiveerd", "paused": "gepauzeerd", "a draft": "een concept",
    "active": "actief", "completed": "voltooid",
    "blocked because its sending accounts are unhealthy":
        "geblokkeerd omdat de verzendaccounts ongezond zijn",
    "held by bounce protection": "tegengehouden door bounce-bescherming",
    "blocked because the account is suspended": "geblokkeerd omdat het account geschorst is",
}

assert set(ERRORS_NL) == set(ERRORS), "every error sentence needs its Dutch form"


def choose_language(request: web.Request) -> str:
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


# Where the console words an error differently from the API (both languages).
CONSOLE_ERRORS: dict[str, tuple[str, str]] = {
    "invalid_action": ("That resolution is not offered for this finding. Choose one of the"
                       " buttons on the drift page.",
                       "Die oplossing wordt voor deze afwijking niet aangeboden. Kies een van de"
                       " knoppen op de pagina met afwijkingen."),
}


class Translator:
    """`t(key, **fields)` in one language, and error sentences in it."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def __call__(self, key: str, **fields: Any) -> str:
        text = TEXT[key][self._index]
        return text.format(**fields) if fields else text

    def error(self, error: ApiError) -> str:
        if error.code in CONSOLE_ERRORS:  # the API's sentence names values a person never sees
            return CONSOLE_ERRORS[error.code][self._index]
        if self.lang == "en":
            return error.message
        fields = {k: _FIELDS_NL.get(str(v), v) for k, v in error.fields.items()}
        template = ERRORS_NL[error.code]
        return template.format(**fields) if fields else template

    def age(self, since: object) -> str:
        """How long ago `since` was, in this language's units."""
        return formats.age(since, hour=self("unit.hour"))

    def status(self, status: str | None) -> str:
        return self(f"status.{status}") if status else self("unknown")

    def word(self, group: str, code: str | None) -> str:
        """A stored code (audit source, outcome, run status...) in words; unknown codes
        are shown as they are (data, not a sentence)."""
        if code is None:
            return "—"
        key = f"{group}.{code}"
        return self(key) if key in TEXT else code

    def remote(self, code: int | None) -> str:
        if code is None:
            return self("unknown")
        key = f"remote.{code}"
        return self(key) if key in TEXT else f"{self('unknown')} ({code})"
