"""Ranked search over titles, descriptions and keywords of the published datasets.

An in-memory inverted index, rebuilt from the control plane only when a catalog event was
committed since it was built. Ranking is BM25-like: a title match counts most, a keyword
match next, a description match least; query words match whole words, word beginnings and
(for words of four letters or more) parts of German compounds ("qualität" finds
"Luftqualität"), each a little less. Every query word must match.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from allmende.node.catalog.models import PUBLISHED, CatalogDataset
from allmende.node.catalog.projection import EVENT_TYPES
from allmende.node.models import EventRecord
from allmende.node.runtime import Node
from allmende.vocab import catalog as terms

WEIGHTS = {"title": 3.0, "keywords": 2.0, "description": 1.0}
EXACT, PREFIX, INFIX = 1.0, 0.7, 0.4
K1 = 1.2
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without diacritics (ß -> ss), so "Straße" finds "strasse" and "Lütjenholm"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass
class Entry:
    id: str
    document: dict[str, Any]
    fields: dict[str, dict[str, int]]
    keywords: set[str]
    themes: set[str]
    publisher: str
    publisher_uri: str


@dataclass
class Hit:
    entry: Entry
    score: float


@dataclass
class Index:
    version: int
    entries: list[Entry] = field(default_factory=list)
    postings: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def build(cls, version: int, documents: list[dict[str, Any]]) -> Index:
        index = cls(version)
        for document in documents:
            fields: dict[str, dict[str, int]] = {}
            texts = {
                "title": " ".join((document.get("title") or {}).values()),
                "description": " ".join((document.get("description") or {}).values()),
                "keywords": " ".join(
                    w for ws in (document.get("keywords") or {}).values() for w in ws
                ),
            }
            for name, text in texts.items():
                counts: dict[str, int] = defaultdict(int)
                for word in words(text):
                    counts[word] += 1
                fields[name] = dict(counts)
            position = len(index.entries)
            for counts in fields.values():
                for word in counts:
                    index.postings[word].add(position)
            publisher = document.get("publisher") or {}
            index.entries.append(
                Entry(
                    id=document["id"],
                    document=document,
                    fields=fields,
                    keywords={
                        fold(w) for ws in (document.get("keywords") or {}).values() for w in ws
                    },
                    themes=set(document.get("themes") or []),
                    publisher=fold(publisher.get("name") or ""),
                    publisher_uri=publisher.get("uri") or "",
                )
            )
        return index

    def _matches(self, query_word: str) -> dict[str, float]:
        """Vocabulary words the query word matches, with how well."""
        found: dict[str, float] = {}
        for word in self.postings:
            if word == query_word:
                found[word] = EXACT
            elif len(query_word) >= 3 and word.startswith(query_word):
                found[word] = PREFIX
            elif len(query_word) >= 4 and query_word in word:
                found[word] = INFIX
        return found

    def search(
        self,
        query: str = "",
        *,
        theme: str | None = None,
        keyword: str | None = None,
        publisher: str | None = None,
    ) -> list[Hit]:
        candidates = set(range(len(self.entries)))
        if theme:
            wanted = terms.theme_iri(theme)
            candidates = {i for i in candidates if wanted in self.entries[i].themes}
        if keyword:
            folded = fold(keyword.strip())
            candidates = {i for i in candidates if folded in self.entries[i].keywords}
        if publisher:
            folded = fold(publisher.strip())
            candidates = {
                i
                for i in candidates
                if folded in self.entries[i].publisher or publisher == self.entries[i].publisher_uri
            }
        query_words = [w for w in dict.fromkeys(words(query)) if len(w) >= 2]
        if not query_words:
            hits = [Hit(self.entries[i], 0.0) for i in candidates]
            hits.sort(
                key=lambda h: (h.entry.document.get("modified", ""), h.entry.id), reverse=True
            )
            return hits
        scores = dict.fromkeys(candidates, 0.0)
        total = max(1, len(self.entries))
        for query_word in query_words:
            matches = self._matches(query_word)
            holders: set[int] = set()
            for word in matches:
                holders |= self.postings[word]
            holders &= scores.keys()
            idf = math.log(1 + (total - len(holders) + 0.5) / (len(holders) + 0.5))
            for position in holders:
                entry = self.entries[position]
                gained = 0.0
                for name, weight in WEIGHTS.items():
                    tf = sum(
                        count * matches[word]
                        for word, count in entry.fields[name].items()
                        if word in matches
                    )
                    if tf:
                        gained += weight * idf * tf * (K1 + 1) / (tf + K1)
                scores[position] += gained
            for position in list(scores):
                if position not in holders:
                    del scores[position]  # every query word must match
        hits = [Hit(self.entries[i], score) for i, score in scores.items()]
        hits.sort(key=lambda h: (-h.score, h.entry.id))
        return hits


class SearchIndexes:
    """The current index of a node, rebuilt lazily (thread-safe) after catalog changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: Index | None = None

    def current(self, node: Node) -> Index:
        version = _catalog_version(node)
        index = self._index
        if index is not None and index.version == version:
            return index
        with self._lock:
            if self._index is None or self._index.version != version:
                self._index = Index.build(version, _published_documents(node))
            return self._index


def _catalog_version(node: Node) -> int:
    with Session(node.engine) as session:
        newest = session.exec(
            select(func.max(EventRecord.seq))
            .where(col(EventRecord.type).in_(EVENT_TYPES))
            .where(col(EventRecord.local).is_(True))
        ).one()
    return int(newest or 0)


def _published_documents(node: Node) -> list[dict[str, Any]]:
    with Session(node.engine) as session:
        rows = session.exec(
            select(CatalogDataset.document)
            .where(CatalogDataset.status == PUBLISHED)
            .order_by(col(CatalogDataset.id))
        ).all()
    return [json.loads(row) for row in rows]
