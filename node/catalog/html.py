"""The catalog for people in a browser: the same triples as the RDF, rendered as plain HTML.

No scripts, no external resources; every text is escaped. German first, English where a
German text is missing (or `?lang=en`).
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

import pyoxigraph as ox

from allmende.node.web import labels
from allmende.node.web.i18n import N_, texts
from allmende.vocab import catalog as terms
from allmende.vocab.namespaces import DCAT, DCT, FOAF, RDF

# English source texts, translated by the web pages' catalogs (node/web/locales)
_TEXT = {
    "datasets": N_("Datasets"),
    "distributions": N_("Access"),
    "licence": N_("Licence"),
    "themes": N_("Themes"),
    "keywords": N_("Keywords"),
    "publisher": N_("Published by"),
    "modified": N_("Last modified"),
    "search": N_("Search"),
    "previous": N_("previous"),
    "next": N_("next"),
    "formats": N_("Also as"),
    "none": N_("No datasets."),
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1d1d1b}h1{font-size:1.6rem}article{border-top:1px solid #ccc;"
    "padding:.8rem 0}dt{font-weight:600}dd{margin:0 0 .4rem 0}.meta{color:#555;font-size:.9rem}"
    "nav a{margin-right:1rem}"
)


def _index(triples: list[ox.Triple]) -> dict[str, dict[str, list[Any]]]:
    by_subject: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for triple in triples:
        subject = triple.subject
        if isinstance(subject, ox.NamedNode):
            by_subject[subject.value][triple.predicate.value].append(triple.object)
    return by_subject


def _text(values: list[Any], language: str) -> str:
    literals = [v for v in values if isinstance(v, ox.Literal)]
    for wanted in (language, "de", "en", None):
        for literal in literals:
            if literal.language == wanted or wanted is None:
                return str(literal.value)
    return ""


def _say(key: str, language: str) -> str:
    return escape(texts(language).gettext(_TEXT[key]))


def _count(total: int, language: str) -> str:
    return texts(language).ngettext("%(num)s dataset", "%(num)s datasets", total)


def _page(page: int, last: int, language: str) -> str:
    say = texts(language)
    return say.gettext("page %(page)s of %(last)s", page=say.number(page), last=say.number(last))


def _iri(value: Any) -> str:
    return value.value if isinstance(value, ox.NamedNode) else ""


def _dataset(index: dict[str, dict[str, list[Any]]], iri: str, language: str) -> str:
    props = index.get(iri, {})
    title = _text(props.get(str(DCT["title"]), []), language) or iri
    description = _text(props.get(str(DCT.description), []), language)
    licence_iri = _iri(next(iter(props.get(str(DCT.license), [])), None))
    themes = [
        terms.THEMES.get(terms.code_of(_iri(t)), (terms.code_of(_iri(t)),) * 2)[
            0 if language == "de" else 1
        ]
        for t in props.get(str(DCAT.theme), [])
    ]
    keywords = sorted(
        {str(k.value) for k in props.get(str(DCAT.keyword), []) if isinstance(k, ox.Literal)}
    )
    publisher = next(iter(props.get(str(DCT.publisher), [])), None)
    publisher_name = _text(index.get(_iri(publisher), {}).get(str(FOAF.name), []), language)
    modified = texts(language).date_text(_text(props.get(str(DCT.modified), []), language))
    parts = [
        f'<article><h2><a href="{escape(iri)}">{escape(title)}</a></h2>',
        f"<p>{escape(description)}</p>" if description else "",
        "<dl>",
    ]
    if publisher_name:
        parts.append(f"<dt>{_say('publisher', language)}</dt><dd>{escape(publisher_name)}</dd>")
    if licence_iri:
        licence = labels.licence(texts(language), licence_iri)
        parts.append(
            f"<dt>{_say('licence', language)}</dt>"
            f'<dd><a href="{escape(licence.url)}">{escape(licence.name)}</a></dd>'
        )
    if themes:
        parts.append(f"<dt>{_say('themes', language)}</dt><dd>{escape(', '.join(themes))}</dd>")
    if keywords:
        parts.append(f"<dt>{_say('keywords', language)}</dt><dd>{escape(', '.join(keywords))}</dd>")
    links = []
    for distribution in props.get(str(DCAT.distribution), []):
        dist = index.get(_iri(distribution), {})
        name = _text(dist.get(str(DCT["title"]), []), language) or _iri(distribution)
        url = _iri(
            next(
                iter(dist.get(str(DCAT.downloadURL), []) or dist.get(str(DCAT.accessURL), [])), None
            )
        )
        file_type = terms.code_of(_iri(next(iter(dist.get(str(DCT["format"]), [])), None)) or "")
        label = f"{name} ({file_type})" if file_type else name
        links.append(f'<li><a href="{escape(url)}">{escape(label)}</a></li>')
    if links:
        parts.append(
            f"<dt>{_say('distributions', language)}</dt><dd><ul>{''.join(links)}</ul></dd>"
        )
    parts.append("</dl>")
    if modified:
        parts.append(f'<p class="meta">{_say("modified", language)}: {escape(modified)}</p>')
    parts.append("</article>")
    return "".join(parts)


def _document(title: str, body: str, language: str, alternates: list[tuple[str, str]]) -> bytes:
    links = "".join(
        f'<link rel="alternate" type="{escape(media)}" href="{escape(href)}">'
        for media, href in alternates
    )
    formats = " · ".join(
        f'<a href="{escape(href)}">{escape(media)}</a>' for media, href in alternates
    )
    html = (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{links}<style>{_STYLE}</style></head><body>{body}"
        f'<footer class="meta"><p>{_say("formats", language)}: {formats}</p></footer>'
        "</body></html>"
    )
    return html.encode()


def datasets_in_order(triples: list[ox.Triple], order: list[str]) -> list[str]:
    present = {
        t.subject.value
        for t in triples
        if isinstance(t.subject, ox.NamedNode)
        and t.predicate.value == str(RDF.type)
        and isinstance(t.object, ox.NamedNode)
        and t.object.value == str(DCAT.Dataset)
    }
    return [iri for iri in order if iri in present]


def render_list(
    *,
    heading: str,
    triples: list[ox.Triple],
    order: list[str],
    language: str,
    page: int,
    last: int,
    total: int,
    links: dict[str, str],
    alternates: list[tuple[str, str]],
    search_action: str,
    query: str = "",
) -> bytes:
    index = _index(triples)
    articles = [_dataset(index, iri, language) for iri in datasets_in_order(triples, order)]
    navigation = []
    if "previous" in links:
        navigation.append(
            f'<a rel="prev" href="{escape(links["previous"])}">{_say("previous", language)}</a>'
        )
    if "next" in links:
        navigation.append(
            f'<a rel="next" href="{escape(links["next"])}">{_say("next", language)}</a>'
        )
    body = (
        f"<header><h1>{escape(heading)}</h1>"
        f'<form method="get" action="{escape(search_action)}"><input type="search" name="q" '
        f'value="{escape(query)}" aria-label="{_say("search", language)}">'
        f'<input type="hidden" name="format" value="html"> <button>{_say("search", language)}'
        f"</button></form>"
        f'<p class="meta">{escape(_count(total, language))} · {escape(_page(page, last, language))}'
        "</p></header>"
        + ("".join(articles) or f"<p>{_say('none', language)}</p>")
        + f"<nav>{''.join(navigation)}</nav>"
    )
    return _document(heading, body, language, alternates)


def render_dataset(
    triples: list[ox.Triple], iri: str, language: str, alternates: list[tuple[str, str]]
) -> bytes:
    index = _index(triples)
    title = _text(index.get(iri, {}).get(str(DCT["title"]), []), language) or iri
    return _document(title, _dataset(index, iri, language), language, alternates)
