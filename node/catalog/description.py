"""A dataset description as the operator writes it, and its canonical form in events.

Input is lenient about *presence* (a missing title is the SHACL profile's to report, with
every other missing property in the same answer) and strict about *form*: wrong types,
unknown codes and malformed IRIs are refused here, each error naming its field. The
canonical form has every controlled term as its official IRI, so the event alone is enough
for a peer or `reindex` to rebuild the RDF.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from allmende.node.catalog.files import guess_media_type
from allmende.node.messages import pydantic_message, reason, say
from allmende.vocab import catalog as terms

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
# published as a mailto: IRI, so without the characters an IRI may not hold (RFC 3987)
EMAIL = re.compile(r"^[^@\s<>\"{}|\\^`]+@[^@\s<>\"{}|\\^`]+\.[^@\s<>\"{}|\\^`]+$")
PHONE = re.compile(r"^\+?[0-9 ()/-]{3,40}$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
WKT = re.compile(
    r"^\s*(?:<[^>]+>\s*)?(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|"
    r"GEOMETRYCOLLECTION)\s*(Z|M|ZM)?\s*\(",
    re.IGNORECASE,
)
SERVICES = ("sparql", "observations")
KINDS = ("file", "link", "api")
MAX_DISTRIBUTIONS = 100


class DescriptionError(ValueError):
    """Form errors of a description: a list of `{"field": ..., "message": ...}`."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


Texts = dict[str, str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _texts(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        value = {"de": value}
    if isinstance(value, dict):
        for language, text in value.items():
            if not isinstance(language, str) or not LANGUAGE_TAG.match(language):
                raise ValueError(
                    say("%(value)s is not a language tag like de or en", value=repr(language))
                )
            if not isinstance(text, str):
                raise ValueError(say("the %(language)s text must be a string", language=language))
            if len(text) > limit:
                raise ValueError(
                    say(
                        "the %(language)s text is longer than %(limit)s characters",
                        language=language,
                        limit=limit,
                    )
                )
        return {language: text.strip() for language, text in value.items() if text.strip()}
    return value


def _url(value: str | None) -> str | None:
    if value is not None and (not URL.match(value) or len(value) > 2000):
        raise ValueError(say("must be an http(s) URL"))
    return value


def _email(value: str | None) -> str | None:
    if value and not EMAIL.match(value.removeprefix("mailto:")):
        raise ValueError(say("must be an e-mail address"))
    return value.removeprefix("mailto:") if value else None


class Agent(_Model):
    name: str | None = Field(default=None, max_length=300)
    type: str | None = None
    uri: str | None = None
    homepage: str | None = None
    email: str | None = Field(default=None, max_length=300)

    _urls = field_validator("uri", "homepage")(_url)
    _emails = field_validator("email")(_email)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return terms.publisher_type_iri(value) if value else None


class Contact(_Model):
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=300)
    url: str | None = None
    phone: str | None = None

    _urls = field_validator("url")(_url)
    _emails = field_validator("email")(_email)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and not PHONE.match(value.removeprefix("tel:")):
            raise ValueError(say("must be a telephone number like +49 4841 1234"))
        return value.removeprefix("tel:") if value else None


def _temporal_value(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        if "T" in value:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            date.fromisoformat(value)
    except ValueError:
        raise ValueError(say("must be an ISO 8601 date (2024-01-31) or date-time")) from None
    return value


class Temporal(_Model):
    start: str | None = None
    end: str | None = None

    _dates = field_validator("start", "end")(_temporal_value)


class Spatial(_Model):
    geometry: str | None = Field(default=None, max_length=100_000)
    bbox: list[float] | None = None
    uri: str | None = None

    _urls = field_validator("uri")(_url)

    @field_validator("geometry")
    @classmethod
    def _wkt(cls, value: str | None) -> str | None:
        if value and not WKT.match(value):
            raise ValueError(say("must be WKT, e.g. POLYGON((8.1 54.5, ...))"))
        return value

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            if len(value) != 4:
                raise ValueError(say("must be [west, south, east, north]"))
            west, south, east, north = value
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                raise ValueError(say("must be [west, south, east, north] in WGS84 degrees"))
        return value


class DistributionInput(_Model):
    id: str | None = None
    kind: Literal["file", "link", "api"] = "link"
    title: Any = None
    description: Any = None
    format: str | None = None
    media_type: str | None = None
    url: str | None = None
    service: Literal["sparql", "observations"] | None = None
    license: str | None = None
    status: str | None = None

    _urls = field_validator("url")(_url)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError(say("must be lower-case letters, digits and dashes (1-64)"))
        return value

    @field_validator("title", "description")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return _texts(value, 5000)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return terms.file_type_iri(value) if value else None

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix(terms.IANA_MEDIA_TYPES).split(";")[0].strip().lower()
        if not MEDIA_TYPE.match(value):
            raise ValueError(say("must be a media type like text/csv"))
        return value

    @field_validator("license")
    @classmethod
    def _license(cls, value: str | None) -> str | None:
        return terms.licence_iri(value) if value else None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return terms.distribution_status_iri(value) if value else None


class DatasetInput(_Model):
    id: str | None = None
    title: Any = None
    description: Any = None
    keywords: dict[str, list[str]] | list[str] | None = None
    themes: list[str] = Field(default_factory=list, max_length=14)
    publisher: Agent | None = None
    contact: Contact | None = None
    license: str | None = None
    license_attribution: str | None = Field(default=None, max_length=500)
    access_rights: str | None = None
    temporal: Temporal | None = None
    spatial: Spatial | None = None
    frequency: str | None = None
    languages: list[str] | None = Field(default=None, max_length=20)
    landing_page: str | None = None
    policy: dict[str, Any] | None = None
    distributions: list[DistributionInput] | None = Field(
        default=None, max_length=MAX_DISTRIBUTIONS
    )

    _urls = field_validator("landing_page")(_url)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        return DistributionInput._slug(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: Any) -> Any:
        return _texts(value, 500)

    @field_validator("description")
    @classmethod
    def _description(cls, value: Any) -> Any:
        return _texts(value, 20_000)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = {"de": value}
        if value is None:
            return None
        cleaned: dict[str, list[str]] = {}
        for language, words in value.items():
            if not LANGUAGE_TAG.match(language):
                raise ValueError(
                    say("%(value)s is not a language tag like de or en", value=repr(language))
                )
            if len(words) > 50:
                raise ValueError(say("at most 50 keywords per language"))
            unique = list(dict.fromkeys(w.strip() for w in words if w.strip()))
            if any(len(word) > 100 for word in unique):
                raise ValueError(say("a keyword has at most 100 characters"))
            if unique:
                cleaned[language] = unique
        return cleaned

    @field_validator("themes")
    @classmethod
    def _themes(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(terms.theme_iri(theme) for theme in value))

    @field_validator("license")
    @classmethod
    def _license(cls, value: str | None) -> str | None:
        return terms.licence_iri(value) if value else None

    @field_validator("access_rights")
    @classmethod
    def _access(cls, value: str | None) -> str | None:
        return terms.access_right_iri(value) if value else None

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str | None) -> str | None:
        return terms.frequency_iri(value) if value else None

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str] | None) -> list[str] | None:
        return [terms.language_iri(v) for v in value] if value is not None else None


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(body)"


def parse_input(body: Any) -> DatasetInput:
    """Read a dataset description; raise DescriptionError listing every form error."""
    if not isinstance(body, dict):
        raise DescriptionError([{"field": "(body)", "message": say("must be a JSON object")}])
    try:
        return DatasetInput.model_validate(body)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            message = pydantic_message(error)
            errors.append({"field": _field_path(tuple(error["loc"])), "message": message})
        raise DescriptionError(errors) from None


def parse_distribution(body: Any) -> DistributionInput:
    if not isinstance(body, dict):
        raise DescriptionError([{"field": "(body)", "message": say("must be a JSON object")}])
    try:
        return DistributionInput.model_validate(body)
    except ValidationError as exc:
        raise DescriptionError(
            [
                {
                    "field": _field_path(tuple(e["loc"])),
                    "message": pydantic_message(e),
                }
                for e in exc.errors()
            ]
        ) from None


def _compact(value: Any) -> Any:
    """Drop empty values, so that canonical documents compare equal when they mean the same."""
    if isinstance(value, dict):
        cleaned = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def canonical_distribution(
    item: DistributionInput, existing: dict[str, Any] | None
) -> dict[str, Any]:
    """A distribution in canonical form; a file distribution keeps its stored file's facts."""
    media_type = item.media_type
    file_type = item.format
    if media_type is None and file_type is None and item.kind == "link" and item.url:
        media_type = guess_media_type(None, item.url.split("?", 1)[0].rsplit("/", 1)[-1])
    if media_type is None and file_type is not None:
        media_type = terms.MEDIA_TYPES.get(terms.code_of(file_type))
    if file_type is None and media_type is not None and media_type in terms.FILE_TYPE_BY_MEDIA_TYPE:
        file_type = terms.file_type_iri(terms.FILE_TYPE_BY_MEDIA_TYPE[media_type])
    document: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "format": file_type,
        "media_type": media_type,
        "license": item.license,
        "status": item.status
        or terms.distribution_status_iri("COMPLETED" if item.kind != "api" else "ONGOING"),
    }
    if item.kind == "link":
        document["url"] = item.url
    elif item.kind == "api":
        document["service"] = item.service
    elif existing is not None:
        for key in ("byte_size", "checksum", "file_name", "issued"):
            document[key] = existing.get(key)
        document["media_type"] = media_type or existing.get("media_type")
        document["format"] = file_type or existing.get("format")
    return _compact(document)


def distribution_problems(
    item: DistributionInput, index: int, known_files: set[str]
) -> list[dict[str, str]]:
    """Form errors that depend on the kind (a link needs a URL, an API names a service)."""
    where = f"distributions[{index}]"
    problems = []
    if item.kind == "link" and not item.url:
        problems.append(
            {"field": f"{where}.url", "message": say("a link distribution needs a url")}
        )
    if item.kind == "api" and not item.service:
        problems.append(
            {
                "field": f"{where}.service",
                "message": say("one of %(choices)s", choices=", ".join(SERVICES)),
            }
        )
    if item.kind == "file" and (item.id is None or item.id not in known_files):
        problems.append(
            {
                "field": f"{where}.id",
                "message": say(
                    "file distributions are added by uploading the file "
                    "(POST /admin/datasets/{id}/distributions); here only existing ones can be "
                    "named"
                ),
            }
        )
    return problems


def distribution_id(item: dict[str, Any], taken: set[str]) -> str:
    """A readable id for a distribution that was given none: its format or service."""
    stem = item.get("service") or (
        terms.code_of(item["format"]).lower().replace("_", "-") if item.get("format") else None
    )
    stem = stem or item.get("kind", "dist")
    candidate, number = stem, 2
    while candidate in taken:
        candidate, number = f"{stem}-{number}", number + 1
    return candidate


def canonical(
    parsed: DatasetInput,
    *,
    dataset_id: str,
    base: str,
    operator: str,
    ags: str,
    existing_distributions: list[dict[str, Any]],
    issued: str,
    modified: str,
    normalise_policy: Callable[[dict[str, Any], str], tuple[dict[str, Any], bool]],
) -> dict[str, Any]:
    """The canonical description: defaults filled in from the node, terms as IRIs.

    `normalise_policy(offer, dataset_iri)` gives the offer in canonical JSON-LD and whether
    it lets anyone use the data without conditions (then open data stays PUBLIC).
    """
    errors: list[dict[str, str]] = []
    licence = parsed.license
    geocoding, level = terms.geocoding_for_ags(ags)
    publisher = (
        parsed.publisher.model_dump()
        if parsed.publisher
        else {"name": operator, "type": terms.publisher_type_iri("LocalAuthority")}
    )
    languages = parsed.languages
    if languages is None:
        languages = [
            terms.language_iri(tag)
            for tag in sorted((parsed.title or {}).keys())
            if tag in terms.LANGUAGE_CODES
        ]
    spatial = parsed.spatial.model_dump() if parsed.spatial else None
    if spatial and spatial.get("bbox") and not spatial.get("geometry"):
        west, south, east, north = spatial["bbox"]
        spatial["geometry"] = (
            f"POLYGON(({west} {south}, {east} {south}, {east} {north}, "
            f"{west} {north}, {west} {south}))"
        )
    policy, open_to_anyone = None, True
    if parsed.policy is not None:
        try:
            policy, open_to_anyone = normalise_policy(
                parsed.policy, f"{base}/datasets/{dataset_id}"
            )
        except ValueError as exc:
            field = getattr(exc, "field", "")
            message = getattr(exc, "message", None) or reason(exc)
            errors.append({"field": f"policy.{field}" if field else "policy", "message": message})
    # Open data unless the licence or the policy says otherwise; the operator may override.
    access = parsed.access_rights or terms.access_right_iri(
        "PUBLIC" if licence and terms.is_open_licence(licence) and open_to_anyone else "RESTRICTED"
    )

    distributions: list[dict[str, Any]] = []
    by_id = {d["id"]: d for d in existing_distributions}
    if parsed.distributions is None:
        distributions = [dict(d) for d in existing_distributions]
    else:
        files = {d["id"] for d in existing_distributions if d.get("kind") == "file"}
        taken = {d.id for d in parsed.distributions if d.id}
        for index, item in enumerate(parsed.distributions):
            problems = distribution_problems(item, index, files)
            errors += problems
            if problems:
                continue
            document = canonical_distribution(item, by_id.get(item.id or ""))
            if not document.get("id"):
                document["id"] = distribution_id(document, taken)
                taken.add(document["id"])
            distributions.append(document)
        seen: set[str] = set()
        for index, document in enumerate(distributions):
            if document["id"] in seen:
                errors.append(
                    {
                        "field": f"distributions[{index}].id",
                        "message": say("used twice in this dataset"),
                    }
                )
            seen.add(document["id"])
    if errors:
        raise DescriptionError(errors)
    return _compact(
        {
            "id": dataset_id,
            "base": base,
            "operator": operator,
            "title": parsed.title,
            "description": parsed.description,
            "keywords": parsed.keywords,
            "themes": parsed.themes,
            "publisher": publisher,
            "contact": parsed.contact.model_dump() if parsed.contact else None,
            "license": licence,
            "license_attribution": parsed.license_attribution,
            "access_rights": access,
            "temporal": parsed.temporal.model_dump() if parsed.temporal else None,
            "spatial": spatial,
            "political_geocoding": geocoding,
            "political_geocoding_level": level,
            "frequency": parsed.frequency,
            "languages": languages,
            "landing_page": parsed.landing_page,
            "policy": policy,
            "issued": issued,
            "modified": modified,
            "distributions": distributions,
        }
    )


_CANONICAL_ONLY = {"base", "operator", "political_geocoding", "political_geocoding_level"}
_CANONICAL_ONLY |= {"issued", "modified"}
_DISTRIBUTION_FACTS = {"byte_size", "checksum", "file_name", "issued"}


def as_input(description: dict[str, Any]) -> dict[str, Any]:
    """The canonical description as an input document again, for PATCH and the CLI."""
    document = {k: v for k, v in description.items() if k not in _CANONICAL_ONLY}
    document["distributions"] = [
        {k: v for k, v in d.items() if k not in _DISTRIBUTION_FACTS}
        for d in description.get("distributions", [])
    ]
    return document


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
