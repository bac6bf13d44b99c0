"""German first, English switchable: the portal's texts from gettext catalogs, numbers and
times formatted as each language writes them.

A village's citizens read German; partners and researchers often English. The texts live in
`node/web/locales/{de,en}/LC_MESSAGES/messages.po` (compiled `.mo` beside them), extracted
from the templates and from `node/web` with Babel, so translators work with ordinary tools
and CI can tell when a text is missing (tests/web/test_i18n_catalogs.py). The language comes
from `?lang=`, then the `lang` cookie, then the browser's Accept-Language. Times are shown in
Europe/Berlin with their zone, whatever zone the server runs in.

Update the catalogs after changing texts with `python -m allmende.node.web.catalogs update`
(docs/developers/translations.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from markupsafe import Markup

from allmende.policies import texts as policy_texts
from allmende.vocab.messages import Joined, Message, Tagged, render

LANGUAGES = ("de", "en")
COOKIE = "lang"
DOMAIN = "messages"
HERE = Path(__file__).parent
LOCALES = HERE / "locales"
ZONE = ZoneInfo("Europe/Berlin")
# How each language writes numbers and dates: German as in Germany, English as in Britain
# (day before month, as the portal's readers in Europe expect).
FORMATS = {"de": Locale("de", "DE"), "en": Locale("en", "GB")}


def N_(message: str) -> str:
    """Mark a text for extraction where it is defined; it is translated where it is shown."""
    return message


@cache
def translations(language: str) -> Translations:
    """The compiled catalog of `language`; a missing catalog is an error, not English."""
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as compiled:
        return Translations(compiled, domain=DOMAIN)


def negotiate(request: web.Request) -> str:
    """`?lang=`, then the cookie, then Accept-Language in the order of its q-values."""
    wanted = request.query.get("lang") or request.cookies.get(COOKIE)
    if wanted in LANGUAGES:
        return wanted
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        code, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, code.strip()[:2].lower()))
    for negative, _index, code in sorted(ranked):
        if code in LANGUAGES and negative < 0:
            return code
    return LANGUAGES[0]


def api_language(request: web.Request) -> str:
    """An API answer's language: the portal's cookie, then Accept-Language; else English,
    the language of machine clients (a CKAN or FIWARE client asks for German when it wants
    it)."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if "Accept-Language" not in request.headers:
        return "en"
    wanted = negotiate(request)
    return wanted if _asked(request, wanted) else "en"


def _asked(request: web.Request, language: str) -> bool:
    header = request.headers.get("Accept-Language", "").lower()
    return any(part.strip().startswith(language) for part in header.split(","))


class Texts:
    """One language's texts and formats, for Python code that builds what a page shows."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else LANGUAGES[0]
        self.locale = FORMATS[self.language]
        self._catalog = translations(self.language)

    def catalog(self, domain: str) -> NullTranslations:
        """The node's own catalog or the policies' (a Message names its domain)."""
        if domain == policy_texts.DOMAIN:
            return policy_texts.translations(self.language)
        return self._catalog

    def translate(self, domain: str, message: str) -> str:
        return str(self.catalog(domain).gettext(message))

    def message(self, value: object) -> str:
        """Anything a page shows as text: a Message (a refusal, a validation error, a
        policy's reason) in this language, anything else as it is."""
        return "" if value is None else render(value, self)

    def gettext(self, message: str, **values: object) -> str:
        text: str = self._catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        text: str = self._catalog.ngettext(singular, plural, count)
        return text % {"num": self.number(count), **values}

    def pgettext(self, context: str, message: str, **values: object) -> str:
        text = str(self._catalog.pgettext(context, message))
        return text % values if values else text

    def number(self, value: Any, digits: int | None = None) -> str:
        """A number as the language writes it (1.234,5 in German); `digits` fixes the
        decimals. Anything that is not a number is returned as it is."""
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return str(value)
        if not number.is_finite():
            return str(value)
        if digits is None:
            return format_decimal(number, locale=self.locale, decimal_quantization=False)
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(number, format=pattern, locale=self.locale)

    def reading(self, value: Any) -> str:
        """An observation's value: numbers per language, booleans as yes/no words."""
        if isinstance(value, bool) or value in ("true", "false"):
            on = value is True or value == "true"
            return self.gettext("yes") if on else self.gettext("no")
        return self.number(value)

    def moment(self, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
        else:
            return None
        # The node stores naive times in UTC (SQL rows); say so before converting.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZONE)

    def datetime_text(self, value: Any, seconds: bool = False) -> str:
        """A point in time in Europe/Berlin with its zone: 12.07.2026, 15:05 MESZ."""
        moment = self.moment(value)
        if moment is None:
            return str(value or "")
        day = format_date(moment, "medium", locale=self.locale)
        time = format_time(moment, "HH:mm:ss z" if seconds else "HH:mm z", locale=self.locale)
        pattern = str(get_datetime_format("medium", locale=self.locale))
        return pattern.replace("{1}", day).replace("{0}", time)

    def date_text(self, value: Any) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            return format_date(value, "medium", locale=self.locale)
        moment = self.moment(value)
        if moment is None:
            try:
                return format_date(date.fromisoformat(str(value)), "medium", locale=self.locale)
            except ValueError:
                return str(value or "")
        return format_date(moment, "medium", locale=self.locale)

    def month_text(self, year: int, month: int) -> str:
        """A month with its year in words: „Dezember 2026“."""
        return str(format_date(date(year, month, 1), "LLLL yyyy", locale=self.locale))

    def ago_text(self, value: Any, now: datetime | None = None) -> str:
        """How long ago, in words: „vor 3 Stunden“."""
        moment = self.moment(value)
        if moment is None:
            return str(value or "")
        delta: timedelta = moment - (now or datetime.now(UTC))
        return format_timedelta(delta, add_direction=True, locale=self.locale)


@cache
def texts(language: str) -> Texts:
    return Texts(language)


def _language(context: Any) -> str:
    language = context.get("lang")
    return language if language in LANGUAGES else LANGUAGES[0]


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return translations(_language(context)).gettext(message)


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, count: int) -> str:
    # the count shown in the text is formatted per language by the `num` variable below
    return translations(_language(context)).ngettext(singular, plural, count)


@jinja2.pass_context
def _pgettext(context: Any, context_name: str, message: str) -> str:
    return str(translations(_language(context)).pgettext(context_name, message))


def _filter(method: str) -> Any:
    @jinja2.pass_context
    def apply(context: Any, value: Any, *args: Any, **kwargs: Any) -> str:
        result: str = getattr(texts(_language(context)), method)(value, *args, **kwargs)
        return result

    return apply


@jinja2.pass_context
def _say(context: Any, value: Any) -> Markup | str:
    """A refusal or error made elsewhere: a Message in the page's language; any other text
    (what a library or another system reported, which no catalog holds) as machine output
    in `<code class="reported">`, never as if it were a sentence of the page."""
    if value is None or value == "":
        return ""
    if isinstance(value, Message | Tagged | Joined):
        return texts(_language(context)).message(value)
    return Markup('<code class="reported">%s</code>') % str(value)


def install(environment: jinja2.Environment) -> None:
    """Give the templates `{% trans %}`, `_()`, `ngettext()`, `pgettext()` and the filters
    `number`, `reading`, `datetime`, `date`, `ago` and `say` (a Message: a refusal or an
    error made elsewhere), all in the page's language."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext
    )
    original: Any = environment.globals["ngettext"]

    @jinja2.pass_context
    def ngettext(context: Any, singular: str, plural: str, count: int, **values: Any) -> str:
        values.setdefault("num", texts(_language(context)).number(count))
        result: str = original(context, singular, plural, count, **values)
        return result

    environment.globals["ngettext"] = ngettext
    for name, method in (
        ("number", "number"),
        ("reading", "reading"),
        ("datetime", "datetime_text"),
        ("date", "date_text"),
        ("ago", "ago_text"),
    ):
        environment.filters[name] = _filter(method)
    environment.filters["say"] = _say
    from allmende.node.web import labels

    def words(function: Any, *table: dict[str, str]) -> Any:
        @jinja2.pass_context
        def apply(context: Any, value: Any) -> Any:
            return function(texts(_language(context)), *table, value)

        return apply

    environment.filters.update(
        licence=words(labels.licence),
        frequency=words(labels.frequency),
        property=words(labels.observable_property),
        profile=words(labels.profile),
        dsp_state=words(labels.code, labels.DSP_STATES),
        dataset_status=words(labels.code, labels.DATASET_STATUS),
        decision=words(labels.code, labels.DECISIONS),
        channel=words(labels.code, labels.CHANNELS),
    )
