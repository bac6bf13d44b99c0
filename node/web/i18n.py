"""German first, English switchable: the two languages of the portal, in one table.

A village's citizens read German; partners and researchers often English. The choice comes
from `?lang=`, then a cookie, then the browser's Accept-Language.
"""

from __future__ import annotations

from aiohttp import web

LANGUAGES = ("de", "en")
COOKIE = "lang"

TEXT: dict[str, dict[str, str]] = {
    "skip": {"de": "Zum Inhalt springen", "en": "Skip to content"},
    "nav.home": {"de": "Start", "en": "Home"},
    "nav.map": {"de": "Karte", "en": "Map"},
    "nav.data": {"de": "Datensätze", "en": "Datasets"},
    "nav.federation": {"de": "Region", "en": "Region"},
    "nav.usage": {"de": "Nutzung", "en": "Usage"},
    "nav.sparql": {"de": "SPARQL", "en": "SPARQL"},
    "nav.admin": {"de": "Verwaltung", "en": "Console"},
    "lang.switch": {"de": "English", "en": "Deutsch"},
    "home.title": {"de": "Offene Daten aus {name}", "en": "Open data from {name}"},
    "home.lead": {
        "de": "Was {name} misst und veröffentlicht – Sensoren, Datensätze und wer sie nutzt.",
        "en": "What {name} measures and publishes – sensors, datasets and who uses them.",
    },
    "home.measured": {"de": "Was gemessen wird", "en": "What is measured"},
    "home.latest": {"de": "Neueste Messwerte", "en": "Latest readings"},
    "home.nothing": {"de": "Noch keine Messwerte.", "en": "No readings yet."},
    "home.datasets": {"de": "{count} Datensätze", "en": "{count} datasets"},
    "col.sensor": {"de": "Sensor", "en": "Sensor"},
    "col.property": {"de": "Messgröße", "en": "Property"},
    "col.value": {"de": "Wert", "en": "Value"},
    "col.time": {"de": "Zeitpunkt", "en": "Time"},
    "col.dataset": {"de": "Datensatz", "en": "Dataset"},
    "col.licence": {"de": "Lizenz", "en": "Licence"},
    "col.origin": {"de": "Herkunft", "en": "Origin"},
    "col.purpose": {"de": "Zweck", "en": "Purpose"},
    "col.permits": {"de": "Erlaubt", "en": "Permitted"},
    "col.denies": {"de": "Abgelehnt", "en": "Denied"},
    "map.title": {"de": "Sensorkarte", "en": "Sensor map"},
    "map.notiles": {
        "de": "Ohne Kartenhintergrund: die Punkte zeigen die Lage der Sensoren.",
        "en": "No background map: the dots show where the sensors are.",
    },
    "map.list": {"de": "Sensoren als Liste", "en": "Sensors as a list"},
    "sensor.title": {"de": "Sensor {name}", "en": "Sensor {name}"},
    "sensor.range": {"de": "Zeitraum", "en": "Time range"},
    "sensor.day": {"de": "24 Stunden", "en": "24 hours"},
    "sensor.week": {"de": "7 Tage", "en": "7 days"},
    "sensor.month": {"de": "30 Tage", "en": "30 days"},
    "sensor.year": {"de": "1 Jahr", "en": "1 year"},
    "sensor.show": {"de": "Anzeigen", "en": "Show"},
    "sensor.chart": {"de": "Verlauf", "en": "Time series"},
    "sensor.table": {"de": "Messwerte als Tabelle", "en": "Readings as a table"},
    "sensor.location": {"de": "Standort", "en": "Location"},
    "data.title": {"de": "Datensätze", "en": "Datasets"},
    "data.none": {
        "de": "Noch keine Datensätze veröffentlicht.",
        "en": "No datasets published yet.",
    },
    "federation.title": {"de": "Daten der Region", "en": "Data of the region"},
    "federation.lead": {
        "de": "Datensätze aller Gemeinden, die mit {name} Daten teilen.",
        "en": "Datasets of every municipality that shares data with {name}.",
    },
    "federation.count": {
        "de": "{datasets} Datensätze aus {villages} Gemeinden.",
        "en": "{datasets} datasets from {villages} municipalities.",
    },
    "federation.search": {"de": "Suchen", "en": "Search"},
    "usage.title": {"de": "Wer nutzt unsere Daten?", "en": "Who uses our data?"},
    "usage.lead": {
        "de": "Jede Entscheidung über einen Zugriff wird protokolliert. Hier die Summen je Datensatz.",
        "en": "Every access decision is recorded. These are the totals per dataset.",
    },
    "usage.none": {"de": "Noch keine Zugriffe protokolliert.", "en": "No access recorded yet."},
    "usage.open": {
        "de": "Offene Daten nutzt jede und jeder ohne zu fragen; gezählt werden die Datensätze, "
        "die nur mit einer Vereinbarung zugänglich sind.",
        "en": "Open data is used by anyone without asking; counted here are the datasets "
        "that are available under an agreement only.",
    },
    "sample": {"de": "Beispieldaten", "en": "Sample data"},
    "footer": {
        "de": "Betrieben mit Allmende – offene Software für kommunale Datenräume.",
        "en": "Run with Allmende – open software for municipal data spaces.",
    },
    "admin.login": {"de": "Anmelden", "en": "Sign in"},
    "admin.token": {"de": "Zugangsschlüssel (Admin-Token)", "en": "Access token (admin token)"},
    "admin.token.help": {
        "de": "Erzeugen mit: allmende token ORDNER --role admin",
        "en": "Create one with: allmende token FOLDER --role admin",
    },
    "admin.logout": {"de": "Abmelden", "en": "Sign out"},
    "admin.title": {"de": "Betriebskonsole", "en": "Operator console"},
    "admin.denied": {"de": "Anmeldung fehlgeschlagen: {reason}", "en": "Sign-in failed: {reason}"},
    "dataset.themes": {"de": "Themen", "en": "Themes"},
    "dataset.keywords": {"de": "Schlagwörter", "en": "Keywords"},
    "dataset.contact": {"de": "Kontakt", "en": "Contact"},
    "dataset.modified": {"de": "Zuletzt geändert", "en": "Last modified"},
    "dataset.policy": {"de": "Nutzungsbedingungen in Worten", "en": "Usage policy in plain words"},
    "dataset.downloads": {"de": "Downloads und Zugänge", "en": "Downloads and access"},
    "dataset.nodownloads": {"de": "Noch keine Dateien.", "en": "No files yet."},
    "dataset.formats": {"de": "Beschreibung als", "en": "Description as"},
    "dataset.sparql": {"de": "Beispiel-Abfrage (SPARQL)", "en": "Example query (SPARQL)"},
    "dataset.sparql.run": {"de": "Abfrage ausführen", "en": "Run the query"},
    "console.devices": {"de": "Sensoren", "en": "Sensors"},
    "console.silent": {"de": "davon verstummt", "en": "of them silent"},
    "console.silent.one": {"de": "verstummt", "en": "silent"},
    "console.ok": {"de": "sendet", "en": "sending"},
    "console.lastseen": {"de": "Zuletzt gehört", "en": "Last heard"},
    "console.events": {"de": "Ereignisse im Protokoll", "en": "events in the log"},
    "console.graphs": {"de": "Graphen", "en": "graphs"},
    "console.problems": {"de": "Abgelehnte Daten", "en": "Refused payloads"},
    "console.peers": {"de": "Nachbargemeinden", "en": "Neighbouring villages"},
    "console.peer": {"de": "Gemeinde", "en": "Village"},
    "console.transport": {"de": "Austausch über", "en": "Exchange over"},
    "console.transport.feed": {"de": "HTTP-Feed", "en": "HTTP feed"},
    "console.transport.kafka": {"de": "Kafka", "en": "Kafka"},
    "console.relayed": {"de": "gesendet bis Ereignis", "en": "sent up to event"},
    "console.accepted": {"de": "Angenommen", "en": "Accepted"},
    "console.refused": {"de": "Abgewiesen", "en": "Refused"},
    "console.devices.list": {"de": "Registrierte Sensoren", "en": "Registered sensors"},
    "console.secrets": {"de": "Webhook-Geheimnisse", "en": "Webhook secrets"},
    "console.secrets.lead": {
        "de": "Der Netzwerkserver (The Things Stack, ChirpStack) schickt das Geheimnis seiner "
        "Quelle im Kopf {header} mit. Ein neues Geheimnis wird nur einmal angezeigt; das alte "
        "gilt dann nicht mehr.",
        "en": "The network server (The Things Stack, ChirpStack) sends its source's secret in "
        "the {header} header. A new secret is shown only once; the old one then stops working.",
    },
    "console.secrets.list": {"de": "Quellen und ihre Geheimnisse", "en": "Sources and secrets"},
    "console.secrets.source": {"de": "Quelle", "en": "Source"},
    "console.secrets.state": {"de": "Geheimnis", "en": "Secret"},
    "console.secrets.actions": {"de": "Aktionen", "en": "Actions"},
    "console.secrets.since": {"de": "gültig seit {since}", "en": "valid since {since}"},
    "console.secrets.none": {
        "de": "keines – Aufrufe werden abgewiesen",
        "en": "none – calls are refused",
    },
    "console.secrets.make": {"de": "Geheimnis erzeugen", "en": "Make a secret"},
    "console.secrets.rotate": {"de": "Neues Geheimnis", "en": "New secret"},
    "console.secrets.revoke": {"de": "Widerrufen", "en": "Revoke"},
    "console.secrets.new": {
        "de": "Neues Geheimnis für {source} – jetzt kopieren, es wird nicht wieder angezeigt:",
        "en": "New secret for {source} – copy it now, it will not be shown again:",
    },
    "console.nodevices": {
        "de": "Noch kein Sensor registriert.",
        "en": "No sensor registered yet.",
    },
    "console.register": {"de": "Sensor registrieren", "en": "Register a sensor"},
    "console.register.failed": {
        "de": "Der Sensor wurde nicht registriert:",
        "en": "The sensor was not registered:",
    },
    "console.register.nodataset": {
        "de": "Veröffentlichen Sie zuerst einen Datensatz, den der Sensor speist.",
        "en": "Publish a dataset for the sensor to feed first.",
    },
    "console.remove": {"de": "Entfernen", "en": "Remove"},
    "console.field.device": {
        "de": "Geräte-ID (DevEUI oder ID im Netzwerkserver)",
        "en": "Device id (DevEUI or network server id)",
    },
    "console.field.label": {"de": "Bezeichnung", "en": "Label"},
    "console.field.profile": {"de": "Geräteprofil", "en": "Device profile"},
    "console.field.position": {"de": "Standort", "en": "Position"},
    "console.field.lat": {"de": "Breitengrad (WGS 84)", "en": "Latitude (WGS 84)"},
    "console.field.lon": {"de": "Längengrad (WGS 84)", "en": "Longitude (WGS 84)"},
    "console.dataspace": {"de": "Datenraum", "en": "Dataspace"},
    "console.dataspace.intro": {
        "de": "Verhandlungen und Übertragungen nach dem Dataspace Protocol: als Anbieterin für Partner, als Nutzerin der Daten benachbarter Gemeinden.",
        "en": "Negotiations and transfers under the Dataspace Protocol: as provider for partners, as consumer of neighbouring villages' data.",
    },
    "console.negotiations": {"de": "Verhandlungen", "en": "Negotiations"},
    "console.transfers": {"de": "Übertragungen", "en": "Transfers"},
    "console.nonegotiations": {"de": "Noch keine Verhandlung.", "en": "No negotiation yet."},
    "console.notransfers": {"de": "Noch keine Übertragung.", "en": "No transfer yet."},
    "console.role": {"de": "Rolle", "en": "Role"},
    "console.role.provider": {"de": "Anbieterin", "en": "Provider"},
    "console.role.consumer": {"de": "Nutzerin", "en": "Consumer"},
    "console.counterpart": {"de": "Gegenüber", "en": "Counterpart"},
    "console.agreement": {"de": "Vereinbarung", "en": "Agreement"},
    "console.updated": {"de": "Zuletzt geändert", "en": "Last change"},
    "console.lastevent": {"de": "Letztes Ereignis", "en": "Last event"},
    "console.lag": {"de": "Rückstand (Log-Positionen)", "en": "Lag (log positions)"},
    "console.relaylag": {"de": "noch zu senden", "en": "still to send"},
    "console.nopeers": {
        "de": "Noch keine Nachbargemeinde. Vertrauen mit:",
        "en": "No neighbouring village yet. Trust one with:",
    },
    "console.noproblems": {"de": "Keine abgelehnten Daten.", "en": "No refused payloads."},
    "console.source": {"de": "Quelle", "en": "Source"},
    "console.reason": {"de": "Grund", "en": "Reason"},
    "console.excerpt": {"de": "Auszug", "en": "Excerpt"},
    "console.overview": {"de": "Überblick", "en": "Overview"},
    "console.datasets": {"de": "Datensätze verwalten", "en": "Manage datasets"},
    "console.datasets.list": {
        "de": "Alle Datensätze dieses Knotens",
        "en": "All datasets of this node",
    },
    "console.status": {"de": "Status", "en": "Status"},
    "console.publish": {"de": "Datensatz veröffentlichen", "en": "Publish a dataset"},
    "console.publish.failed": {
        "de": "Der Datensatz wurde nicht veröffentlicht:",
        "en": "The dataset was not published:",
    },
    "console.agreements": {"de": "Vereinbarungen", "en": "Agreements"},
    "console.agreements.list": {
        "de": "Vereinbarungen über eingeschränkte Datensätze",
        "en": "Agreements on restricted datasets",
    },
    "console.noagreements": {"de": "Noch keine Vereinbarungen.", "en": "No agreements yet."},
    "console.grant": {"de": "Vereinbarung schließen", "en": "Grant an agreement"},
    "console.grant.none": {
        "de": "Es gibt keinen eingeschränkten Datensatz: offene Daten brauchen keine Vereinbarung.",
        "en": "There is no restricted dataset: open data needs no agreement.",
    },
    "console.grant.failed": {
        "de": "Die Vereinbarung wurde nicht geschlossen:",
        "en": "The agreement was not granted:",
    },
    "console.field.assignee": {"de": "Partner (IRI oder URL)", "en": "Partner (IRI or URL)"},
    "console.field.purpose": {"de": "Zweck", "en": "Purpose"},
    "console.field.until": {"de": "Gültig bis (optional)", "en": "Valid until (optional)"},
    "console.state.active": {"de": "gültig", "en": "active"},
    "console.state.revoked": {"de": "widerrufen", "en": "revoked"},
    "console.state.expired": {"de": "abgelaufen", "en": "expired"},
    "console.revoke": {"de": "Widerrufen", "en": "Revoke"},
    "console.issue": {"de": "Zugangsschlüssel ausstellen", "en": "Issue an access token"},
    "console.token": {
        "de": "Zugangsschlüssel (eine Stunde gültig, wird nur jetzt angezeigt):",
        "en": "Access token (valid for one hour, shown only now):",
    },
    "console.audit": {"de": "Protokoll", "en": "Audit log"},
    "console.noaudit": {"de": "Keine Einträge.", "en": "No entries."},
    "console.sessions": {"de": "Sitzungen", "en": "Sessions"},
    "console.sessions.intro": {
        "de": "Wer gerade an der Konsole angemeldet ist. Eine beendete Sitzung gilt sofort "
        "nicht mehr, auch nicht mit ihrem Cookie.",
        "en": "Who is signed in to the console now. An ended session stops working at once, "
        "its cookie included.",
    },
    "console.session.who": {"de": "Wer", "en": "Who"},
    "console.session.since": {"de": "Angemeldet seit", "en": "Signed in since"},
    "console.session.seen": {"de": "Zuletzt aktiv", "en": "Last active"},
    "console.session.from": {"de": "Von", "en": "From"},
    "console.session.browser": {"de": "Browser", "en": "Browser"},
    "console.session.end": {"de": "Beenden", "en": "End"},
    "console.session.own": {"de": "diese Sitzung", "en": "this session"},
    "console.session.ended": {"de": "Die Sitzung ist beendet.", "en": "The session has ended."},
    "console.nosessions": {"de": "Keine aktive Sitzung.", "en": "No active session."},
    "console.filter": {"de": "Filtern", "en": "Filter"},
    "console.older": {"de": "Ältere Einträge", "en": "Older entries"},
    "col.channel": {"de": "Weg", "en": "Channel"},
    "col.subject": {"de": "Wer", "en": "Who"},
    "col.decision": {"de": "Entscheidung", "en": "Decision"},
    "col.agreement": {"de": "Vereinbarung", "en": "Agreement"},
    "console.field.title_de": {"de": "Titel (deutsch)", "en": "Title (German)"},
    "console.field.title_en": {"de": "Titel (englisch)", "en": "Title (English)"},
    "console.field.id": {"de": "Kennung", "en": "Identifier"},
    "console.field.id.help": {
        "de": "Kleinbuchstaben, Ziffern und Bindestriche; leer lassen, um sie aus dem Titel zu bilden.",
        "en": "Lower-case letters, digits and hyphens; leave empty to derive it from the title.",
    },
    "console.field.description_de": {"de": "Beschreibung (deutsch)", "en": "Description (German)"},
    "console.field.description_en": {
        "de": "Beschreibung (englisch)",
        "en": "Description (English)",
    },
    "console.field.keywords": {
        "de": "Schlagwörter, durch Komma getrennt",
        "en": "Keywords, separated by commas",
    },
    "console.field.theme": {"de": "Thema", "en": "Theme"},
    "console.field.frequency": {"de": "Aktualisierung", "en": "Update frequency"},
    "console.field.publisher": {"de": "Herausgeber", "en": "Publisher"},
    "console.field.contact": {"de": "Kontakt (E-Mail)", "en": "Contact (e-mail)"},
    "console.field.start": {"de": "Daten ab", "en": "Data from"},
    "console.field.policy": {"de": "Nutzungsbedingungen", "en": "Usage policy"},
    "console.field.amt": {
        "de": "Amt (nur für „Mitglieder desselben Amtes“)",
        "en": "Amt (only for “members of the same Amt”)",
    },
    "console.field.amt.help": {
        "de": "Kennung des Amtes, z. B. sein Regionalschlüssel.",
        "en": "The Amt's identifier, e.g. its regional key.",
    },
    "sparql.title": {"de": "Daten abfragen mit SPARQL", "en": "Query the data with SPARQL"},
    "sparql.lead": {
        "de": "Alle öffentlichen Daten dieses Knotens – und die der Nachbarorte – sind unter {endpoint} abfragbar, mit jedem SPARQL-Werkzeug.",
        "en": "All public data of this node – and of its neighbours – can be queried at {endpoint}, with any SPARQL tool.",
    },
    "sparql.query": {"de": "Abfrage", "en": "Query"},
    "sparql.run": {"de": "Abfrage ausführen", "en": "Run query"},
    "sparql.results": {"de": "Ergebnis", "en": "Results"},
    "sparql.count": {"de": "{shown} von {total} Zeilen", "en": "{shown} of {total} rows"},
    "sparql.examples": {"de": "Beispiele", "en": "Examples"},
    "sparql.clients": {"de": "Mit eigenen Werkzeugen", "en": "With your own tools"},
    "sparql.clients.text": {
        "de": "Der Endpunkt spricht das SPARQL-1.1-Protokoll: SPARQLWrapper, YASGUI, Jena oder R-Pakete funktionieren ohne Anpassung.",
        "en": "The endpoint speaks the SPARQL 1.1 Protocol: SPARQLWrapper, YASGUI, Jena or R packages work as they are.",
    },
    "sparql.limits": {
        "de": "Eine Abfrage darf höchstens {seconds:g} Sekunden laufen; sie ist nur lesend.",
        "en": "A query may run for at most {seconds:g} seconds; the endpoint is read-only.",
    },
    "home.sensors.own": {"de": "{count} eigene Sensoren", "en": "{count} own sensors"},
    "home.sensors.own.one": {"de": "1 eigener Sensor", "en": "1 own sensor"},
    "home.sensors.pooled": {
        "de": "{count} aus Nachbargemeinden",
        "en": "{count} from neighbouring villages",
    },
    "home.from": {"de": "aus {village}", "en": "from {village}"},
    "col.village": {"de": "Gemeinde", "en": "Village"},
    "map.legend": {"de": "Legende", "en": "Legend"},
    "map.legend.own": {"de": "Sensoren von {name}", "en": "Sensors of {name}"},
    "map.legend.pooled": {
        "de": "Sensoren aus Nachbargemeinden (mit uns geteilte offene Daten)",
        "en": "Sensors of neighbouring villages (open data they share with us)",
    },
    "pooled.lead": {
        "de": "Dieser Sensor gehört {village}. {name} zeigt seine Messwerte, weil {village} "
        "sie als offene Daten mit den Nachbargemeinden teilt.",
        "en": "This sensor belongs to {village}. {name} shows its readings because {village} "
        "shares them as open data with its neighbours.",
    },
    "pooled.origin": {"de": "Herkunft", "en": "Comes from"},
    "pooled.original": {"de": "Datensatz beim Herausgeber", "en": "Dataset at its publisher"},
    "pooled.terms": {"de": "Nutzungsbedingungen von {village}", "en": "Terms of {village}"},
    "pooled.nopoints": {
        "de": "Keine Messwerte in diesem Zeitraum.",
        "en": "No readings in this time range.",
    },
    "publish.policy.legend": {
        "de": "Nutzungsbedingungen – bitte wählen Sie eine",
        "en": "Usage policy – please choose one",
    },
    "publish.policy.missing": {
        "de": "Bitte wählen Sie Nutzungsbedingungen: wer die Daten nutzen darf, entscheidet "
        "die Gemeinde, nicht eine Voreinstellung.",
        "en": "Please choose a usage policy: who may use the data is the municipality's "
        "decision, not a default.",
    },
    "publish.policy.open-data-attribution": {
        "de": "Offene Daten: jede Person darf die Daten nutzen und weitergeben, wenn sie die "
        "Gemeinde als Quelle nennt – z. B. eine Schülerin für ein Referat oder eine Firma für "
        "eine Wetter-App.",
        "en": "Open data: anyone may use and share the data if they name the municipality as "
        "the source – e.g. a pupil for a school presentation or a company for a weather app.",
    },
    "publish.policy.non-commercial": {
        "de": "Nicht kommerziell: nach einer Vereinbarung darf nutzen, wer damit kein Geld "
        "verdient – z. B. ein Heimatverein für seine Website, nicht aber eine Werbeagentur.",
        "en": "Non-commercial: under an agreement, anyone who earns no money with it may use "
        "the data – e.g. a local history society for its website, not an advertising agency.",
    },
    "publish.policy.research-only": {
        "de": "Nur Forschung: nur nach einer Vereinbarung und nur zum Forschen – z. B. eine "
        "Hochschule, die den Wasserstand des Dorfteichs untersucht.",
        "en": "Research only: only under an agreement and only for research – e.g. a "
        "university studying the village pond's water level.",
    },
    "publish.policy.aggregated-only": {
        "de": "Nur zusammengefasst: nach einer Vereinbarung nur Mittelwerte über mehrere "
        "Sensoren oder Zeiträume, nie einzelne Werte – z. B. der Kreis für eine Statistik "
        "der Monatsmittel.",
        "en": "Aggregated only: under an agreement, only averages over several sensors or "
        "periods, never single values – e.g. the county for statistics of monthly means.",
    },
    "publish.policy.amt-members-only": {
        "de": "Nur das eigene Amt: nach einer Vereinbarung nur Gemeinden und Stellen desselben "
        "Amtes (Kennung unten eintragen) – z. B. die Nachbargemeinde im Amt für die Planung "
        "des Winterdienstes.",
        "en": "Own Amt only: under an agreement, only municipalities and offices of the same "
        "Amt (enter its identifier below) – e.g. the neighbouring municipality planning "
        "winter road service.",
    },
    "publish.policy.time-limited-deletion": {
        "de": "Befristet: nach einer Vereinbarung 30 Tage nutzen, danach alle Kopien löschen "
        "– z. B. ein Ingenieurbüro für ein Gutachten.",
        "en": "Time-limited: under an agreement, use for 30 days, then delete every copy – "
        "e.g. an engineering firm for an expert report.",
    },
}


def negotiate(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.cookies.get(COOKIE)
    if wanted in LANGUAGES:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return LANGUAGES[0]


def translate(language: str, key: str, **values: object) -> str:
    entry = TEXT.get(key)
    if entry is None:
        raise KeyError(f"no text for {key!r}")
    return entry.get(language, entry[LANGUAGES[0]]).format(**values)
