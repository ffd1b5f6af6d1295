"""Value sets: which igwatch concepts a FHIR CodeableConcept belongs to.

The value sets are FHIR R4 ``ValueSet`` resources (``compose.include[].system`` + ``concept[]``),
one file per set, in ``igwatch/knowledge/valuesets/``. Every ``*.json`` file there is loaded, and
so is every ``*.json`` file in the directories named by the environment variable
``IGWATCH_VALUESETS_DIR`` (several separated by ``os.pathsep``): a site adds codes by dropping in
a file whose ``id`` is that of an existing set (its concepts are added to the set) or a new one.

Matching (contract §1):

- on ``system`` + ``code``; the well-known OIDs (``urn:oid:2.16.840.1.113883.6.96`` …) count as
  their canonical URIs; CVX codes compare without leading zeros ("3" is "03");
- ICD-10 (``http://hl7.org/fhir/sid/icd-10-cm`` or ``http://hl7.org/fhir/sid/icd-10``, one
  family) is hierarchical: a listed code matches itself and every code under it, compared without
  the dot as a prefix (M32 matches M32.9, J01.9 matches J01.90, J01.9 does not match J01);
- *name fallback*, only for sets that declare it (the extension below) and only for a
  CodeableConcept none of whose codings is known to any loaded value set: its ``text`` and its
  codings' ``display`` are searched case-insensitively, word by word. The match then says
  ``by_name=True`` and the ingest reports ``recognised-by-name``.

igwatch extensions (``https://igwatch.dev/fhir/StructureDefinition/…``):

- ``code-source`` (valueString) on a concept or a set: where the code was taken from or checked;
- ``name-fallback`` (complex) on a set: one rule; sub-extension ``words`` (valueString,
  alternatives separated by ``|``, each matched as whole words, case-insensitively) may repeat,
  and every ``words`` group must occur in the text; ``none-of`` (same syntax) excludes a text that
  contains any of its words; ``priority`` (a number, default 0) ranks rules when several match;
  any other sub-extension (``agent``, ``route`` …) is a property of what the rule recognises. When
  several rules of one set match, the highest (priority, number of groups, characters matched)
  gives the properties, and the others fill in keys it lacks if they agree;
- any other igwatch extension with a ``valueString`` / ``valueCode`` / ``valueBoolean`` on a
  concept or a set is a property (e.g. ``agent``, ``route``, ``serotype``, ``medication-category``);
  a concept's own properties override its set's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeGuard, TypeVar

from igwatch.errors import IgwatchError

IGWATCH_SD = "https://igwatch.dev/fhir/StructureDefinition/"
EXT_CODE_SOURCE = IGWATCH_SD + "code-source"
EXT_NAME_FALLBACK = IGWATCH_SD + "name-fallback"
VALUESET_URL = "https://igwatch.dev/fhir/ValueSet/"
VALUESETS_ENV = "IGWATCH_VALUESETS_DIR"
PACKAGE_VALUESETS_DIR = Path(__file__).resolve().parent.parent / "knowledge" / "valuesets"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
_ICD10_FAMILY = "icd-10"

# Other spellings of the systems igwatch reads (HL7 OIDs, trailing slashes).
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://snomed.info/sct/": SNOMED,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://loinc.org/": LOINC,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
}
_ICD10_SYSTEMS = frozenset({ICD10CM, ICD10})


class ValueSetError(IgwatchError):
    """A value set file cannot be read; the message names the file."""


@dataclass(frozen=True)
class ConceptMatch:
    """One value set a CodeableConcept belongs to, and how it was recognised."""

    valueset: str
    system: str | None
    code: str | None
    display: str
    by_name: bool = False
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, key: str) -> str | None:
        return self.properties.get(key)


@dataclass(frozen=True)
class NameRule:
    """A name-fallback rule of one value set: every group must occur, no excluded word may."""

    valueset: str
    groups: tuple[re.Pattern[str], ...]
    exclude: re.Pattern[str] | None
    label: str
    properties: Mapping[str, str]
    priority: int = 0

    def score(self, text: str) -> tuple[int, int, int] | None:
        """None if the rule does not match ``text`` (casefolded); else how specific the match is:
        (priority, number of word groups, characters matched)."""
        if self.exclude is not None and self.exclude.search(text):
            return None
        matched = 0
        for group in self.groups:
            found = group.search(text)
            if found is None:
                return None
            matched += found.end() - found.start()
        return self.priority, len(self.groups), matched


@dataclass(frozen=True)
class ValueSetInfo:
    name: str
    url: str
    title: str
    files: tuple[str, ...]
    properties: Mapping[str, str]
    concept_count: int
    has_name_fallback: bool


def canonical_system(system: object) -> str | None:
    if not isinstance(system, str) or not system.strip():
        return None
    system = system.strip()
    return _SYSTEM_ALIASES.get(system, system)


def _code_key(system: str, code: str) -> tuple[str, str]:
    code = code.strip()
    if system in _ICD10_SYSTEMS:
        return _ICD10_FAMILY, code.upper().replace(".", "")
    if system == CVX:
        return system, code.lstrip("0") or "0"
    return system, code


def _words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip().casefold() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(w) for w in cleaned)
    return re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])")


def _split_words(value: str) -> list[str]:
    return [w for w in value.split("|") if w.strip()]


def _ext_property(ext: Mapping[str, Any]) -> tuple[str, str] | None:
    url = ext.get("url")
    if not isinstance(url, str):
        return None
    key = url[len(IGWATCH_SD) :] if url.startswith(IGWATCH_SD) else url
    if not key or "/" in key or ":" in key:
        return None
    for value_key in ("valueString", "valueCode"):
        value = ext.get(value_key)
        if isinstance(value, str):
            return key, value
    value = ext.get("valueBoolean")
    if isinstance(value, bool):
        return key, "true" if value else "false"
    return None


def _properties(extensions: object) -> dict[str, str]:
    props: dict[str, str] = {}
    if not isinstance(extensions, list):
        return props
    for ext in extensions:
        if not isinstance(ext, Mapping):
            continue
        url = ext.get("url")
        if url in (EXT_CODE_SOURCE, EXT_NAME_FALLBACK) or not (
            isinstance(url, str) and url.startswith(IGWATCH_SD)
        ):
            continue
        prop = _ext_property(ext)
        if prop is not None:
            props[prop[0]] = prop[1]
    return props


_Entry = tuple[str, str, Mapping[str, str]]  # (valueset, display, properties)


_MATCH_CACHE_SIZE: Final = 65_536
_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class Terminology:
    """The loaded value sets, indexed for look-up. Build it with :func:`get_terminology`."""

    def __init__(self) -> None:
        self._codes: dict[tuple[str, str], list[_Entry]] = {}
        self._icd10_lengths: set[int] = set()
        self._rules: dict[str, list[NameRule]] = {}
        self._info: dict[str, ValueSetInfo] = {}
        self._set_props: dict[str, dict[str, str]] = {}
        self._files: dict[str, list[str]] = {}
        self._counts: dict[str, int] = {}
        # Look-ups by the codings' (system, code, display): a population repeats a few hundred
        # codings millions of times. Bounded; cleared whenever the value sets change. The second
        # holds whole :meth:`match` answers, so it is keyed by the concept's text as well.
        self._match_cache: dict[tuple[Any, ...], tuple[tuple[ConceptMatch, ...], bool]] = {}
        self._full_match_cache: dict[tuple[Any, ...], tuple[ConceptMatch, ...]] = {}

    # -- loading -------------------------------------------------------------------------------

    def add_file(self, path: Path) -> None:
        self._match_cache.clear()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueSetError(f"value set {path}: cannot be read ({exc})") from exc
        if not isinstance(data, Mapping) or data.get("resourceType") != "ValueSet":
            raise ValueSetError(f"value set {path}: not a FHIR ValueSet resource")
        self.add_valueset(data, source=str(path))

    def add_valueset(self, data: Mapping[str, Any], source: str = "<memory>") -> None:
        self._match_cache.clear()
        self._full_match_cache.clear()
        name = data.get("id")
        if not isinstance(name, str) or not name:
            raise ValueSetError(f"value set {source}: no id")
        set_props = self._set_props.setdefault(name, {})
        set_props.update(_properties(data.get("extension")))
        self._files.setdefault(name, []).append(source)
        count = 0
        compose = data.get("compose")
        includes = compose.get("include") if isinstance(compose, Mapping) else None
        for include in includes if isinstance(includes, list) else []:
            if not isinstance(include, Mapping):
                continue
            system = canonical_system(include.get("system"))
            concepts = include.get("concept")
            if system is None or not isinstance(concepts, list):
                continue
            for concept in concepts:
                if not isinstance(concept, Mapping):
                    continue
                code = concept.get("code")
                if not isinstance(code, str) or not code.strip():
                    continue
                display = concept.get("display")
                key = _code_key(system, code)
                if key[0] == _ICD10_FAMILY:
                    self._icd10_lengths.add(len(key[1]))
                props = dict(set_props)
                props.update(_properties(concept.get("extension")))
                entry = (name, display if isinstance(display, str) else code, MappingProxyType(props))
                self._codes.setdefault(key, []).append(entry)
                count += 1
        self._counts[name] = self._counts.get(name, 0) + count
        for ext in data.get("extension") or []:
            if isinstance(ext, Mapping) and ext.get("url") == EXT_NAME_FALLBACK:
                rule = self._rule(name, ext, set_props, source)
                self._rules.setdefault(name, []).append(rule)
        title = data.get("title")
        url = data.get("url")
        self._info[name] = ValueSetInfo(
            name=name,
            url=url if isinstance(url, str) else VALUESET_URL + name,
            title=title if isinstance(title, str) else name,
            files=tuple(self._files[name]),
            properties=MappingProxyType(dict(set_props)),
            concept_count=self._counts[name],
            has_name_fallback=bool(self._rules.get(name)),
        )

    @staticmethod
    def _rule(name: str, ext: Mapping[str, Any], set_props: Mapping[str, str], source: str) -> NameRule:
        groups: list[re.Pattern[str]] = []
        exclude: list[str] = []
        props = dict(set_props)
        label = ""
        priority = 0
        subs = ext.get("extension")
        for sub in subs if isinstance(subs, list) else []:
            if not isinstance(sub, Mapping):
                continue
            url = sub.get("url")
            value = sub.get("valueString")
            if url == "words" and isinstance(value, str):
                words = _split_words(value)
                pattern = _words_pattern(words)
                if pattern is not None:
                    groups.append(pattern)
                    label = label or words[0].strip()
            elif url == "none-of" and isinstance(value, str):
                exclude.extend(_split_words(value))
            elif url == "priority":
                raw = value if value is not None else sub.get("valueInteger")
                try:
                    priority = int(str(raw))
                except ValueError as exc:
                    raise ValueSetError(
                        f"value set {source}: name-fallback priority {raw!r} is not a number"
                    ) from exc
            elif isinstance(url, str) and url != "code-source":
                prop = _ext_property(sub)
                if prop is not None:
                    props[url] = prop[1]
        if not groups:
            raise ValueSetError(f"value set {source}: a name-fallback rule of {name} has no words")
        return NameRule(
            valueset=name,
            groups=tuple(groups),
            exclude=_words_pattern(exclude),
            label=label,
            properties=MappingProxyType(props),
            priority=priority,
        )

    # -- look-up -------------------------------------------------------------------------------

    @property
    def valuesets(self) -> Mapping[str, ValueSetInfo]:
        return MappingProxyType(self._info)

    def set_properties(self, name: str) -> Mapping[str, str]:
        info = self._info.get(name)
        return info.properties if info is not None else MappingProxyType({})

    def _entries(self, system: str, code: str) -> list[_Entry]:
        key = _code_key(system, code)
        if key[0] != _ICD10_FAMILY:
            return self._codes.get(key, [])
        found: list[_Entry] = []
        undotted = key[1]
        for length in self._icd10_lengths:
            if length <= len(undotted):
                found.extend(self._codes.get((_ICD10_FAMILY, undotted[:length]), []))
        return found

    def code_matches(
        self, concept: object, within: Collection[str] | None = None
    ) -> tuple[ConceptMatch, ...]:
        """Matches by ``system`` + ``code`` only (no name fallback)."""
        return self._code_matches(concept, within)[0]

    def _code_matches(
        self, concept: object, within: Collection[str] | None
    ) -> tuple[tuple[ConceptMatch, ...], bool]:
        """(matches in ``within``, whether any coding is known to any value set)."""
        if not _is_mapping(concept):
            return (), False
        codings = concept.get("coding")
        if not isinstance(codings, list):
            return (), False
        try:
            key = (_within_key(within), _codings_key(codings))
            hash(key)
        except (AttributeError, TypeError):  # a coding that is not an object, or an odd value
            return self._code_matches_uncached(codings, within)
        return _bounded_get(self._match_cache, key, lambda: self._code_matches_uncached(codings, within))

    def _code_matches_uncached(
        self, codings: list[Any], within: Collection[str] | None
    ) -> tuple[tuple[ConceptMatch, ...], bool]:
        found: list[ConceptMatch] = []
        known = False
        seen: set[tuple[str, str, str]] = set()
        for coding in codings:
            if not _is_mapping(coding):
                continue
            system = canonical_system(coding.get("system"))
            code = coding.get("code")
            if system is None or not isinstance(code, str) or not code.strip():
                continue
            for valueset, display, props in self._entries(system, code):
                known = True
                if within is not None and valueset not in within:
                    continue
                key = (valueset, system, code)
                if key in seen:
                    continue
                seen.add(key)
                coding_display = coding.get("display")
                found.append(
                    ConceptMatch(
                        valueset=valueset,
                        system=system,
                        code=code.strip(),
                        display=coding_display if isinstance(coding_display, str) else display,
                        by_name=False,
                        properties=props,
                    )
                )
        return tuple(found), known

    def match(self, concept: object, within: Collection[str] | None = None) -> tuple[ConceptMatch, ...]:
        """Every value set (restricted to ``within`` when given) the CodeableConcept belongs to.

        Code matches come first. Name fallback is tried only when none of the concept's codings is
        known to any loaded value set, and only for the sets that declare it.
        """
        if not _is_mapping(concept):
            return ()
        codings = concept.get("coding")
        if codings is not None and not isinstance(codings, list):
            return self._match_uncached(concept, within)
        try:
            key = (_within_key(within), concept.get("text"), _codings_key(codings or ()))
            hash(key)
        except (AttributeError, TypeError):  # a coding that is not an object, or an odd value
            return self._match_uncached(concept, within)
        return _bounded_get(self._full_match_cache, key, lambda: self._match_uncached(concept, within))

    def _match_uncached(
        self, concept: Mapping[str, Any], within: Collection[str] | None
    ) -> tuple[ConceptMatch, ...]:
        matches, known = self._code_matches(concept, within)
        if known:
            return matches
        texts = concept_texts(concept)
        if not texts:
            return matches
        names = tuple(sorted(within)) if within is not None else tuple(sorted(self._rules))
        return matches + self._name_matches(texts, names)

    def _name_matches(self, texts: tuple[str, ...], names: tuple[str, ...]) -> tuple[ConceptMatch, ...]:
        return _cached_name_matches(self, texts, names)

    def name_matches_uncached(
        self, texts: tuple[str, ...], names: tuple[str, ...]
    ) -> tuple[ConceptMatch, ...]:
        """Name-fallback matches. Per value set, the most specific matching rule (priority, then
        number of word groups, then characters matched) gives the properties; other matching rules
        fill in properties it lacks, unless they disagree with one another."""
        found: list[ConceptMatch] = []
        folded = [t.casefold() for t in texts]
        for name in names:
            scored: list[tuple[tuple[int, int, int], NameRule, str]] = []
            for rule in self._rules.get(name, ()):
                best_for_rule: tuple[tuple[int, int, int], str] | None = None
                for original, text in zip(texts, folded, strict=True):
                    score = rule.score(text)
                    if score is not None and (best_for_rule is None or score > best_for_rule[0]):
                        best_for_rule = (score, original)
                if best_for_rule is not None:
                    scored.append((best_for_rule[0], rule, best_for_rule[1]))
            if not scored:
                continue
            scored.sort(key=lambda item: item[0], reverse=True)
            _, best_rule, original = scored[0]
            props = dict(best_rule.properties)
            extra: dict[str, set[str]] = {}
            for _, rule, _ in scored[1:]:
                for key, value in rule.properties.items():
                    if key not in best_rule.properties:
                        extra.setdefault(key, set()).add(value)
            for key, values in extra.items():
                if len(values) == 1:
                    props[key] = next(iter(values))
            found.append(
                ConceptMatch(
                    valueset=name,
                    system=None,
                    code=None,
                    display=original,
                    by_name=True,
                    properties=MappingProxyType(props),
                )
            )
        return tuple(found)

    def sets_of(self, concept: object, within: Collection[str] | None = None) -> frozenset[str]:
        return frozenset(m.valueset for m in self.match(concept, within))

    def in_set(self, concept: object, name: str) -> bool:
        return any(m.valueset == name for m in self.match(concept, (name,)))


def _bounded_get(cache: dict[_Key, _Value], key: _Key, compute: Callable[[], _Value]) -> _Value:
    """``cache[key]``, computed on a miss; the cache is emptied when it reaches
    :data:`_MATCH_CACHE_SIZE`, so a long screen's memory stays bounded."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= _MATCH_CACHE_SIZE:
            cache.clear()
        found = cache[key] = compute()
    return found


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    # JSON objects are dicts; the Mapping ABC check is slow, so it only serves other types.
    return type(value) is dict or isinstance(value, Mapping)


def _within_key(within: Collection[str] | None) -> frozenset[str] | None:
    if within is None or isinstance(within, frozenset):
        return within
    return frozenset(within)


def _codings_key(codings: Iterable[Any]) -> tuple[tuple[Any, Any, Any], ...]:
    """What a code match reads of the codings: each one's system, code and display. Raises
    AttributeError for a coding that is not an object; an unhashable value fails the look-up."""
    return tuple([(c.get("system"), c.get("code"), c.get("display")) for c in codings])


@lru_cache(maxsize=8192)
def _cached_name_matches(
    terminology: Terminology, texts: tuple[str, ...], names: tuple[str, ...]
) -> tuple[ConceptMatch, ...]:
    return terminology.name_matches_uncached(texts, names)


def concept_texts(concept: Mapping[str, Any]) -> tuple[str, ...]:
    """The human texts of a CodeableConcept: ``text`` then each coding's ``display``."""
    texts: list[str] = []
    text = concept.get("text")
    if isinstance(text, str) and (text := text.strip()):
        texts.append(text)
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        if _is_mapping(coding):
            display = coding.get("display")
            if isinstance(display, str) and (display := display.strip()) and display not in texts:
                texts.append(display)
    return tuple(texts)


def concept_text(concept: Mapping[str, Any]) -> str | None:
    """The first of :func:`concept_texts` (None when there is none), without building the rest."""
    text = concept.get("text")
    if isinstance(text, str) and (text := text.strip()):
        return text
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        if _is_mapping(coding):
            display = coding.get("display")
            if isinstance(display, str) and (display := display.strip()):
                return display
    return None


def concept_label(concept: object) -> str:
    """A display string for a CodeableConcept (text, else the first display, else the first code)."""
    if not isinstance(concept, Mapping):
        return ""
    texts = concept_texts(concept)
    if texts:
        return texts[0]
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return ""


def _directories() -> tuple[str, ...]:
    dirs = [str(PACKAGE_VALUESETS_DIR)]
    extra = os.environ.get(VALUESETS_ENV, "")
    dirs.extend(d for d in extra.split(os.pathsep) if d.strip())
    return tuple(dirs)


@lru_cache(maxsize=8)
def _load(directories: tuple[str, ...]) -> Terminology:
    terminology = Terminology()
    for index, directory in enumerate(directories):
        path = Path(directory)
        if not path.is_dir():
            if index == 0:  # pragma: no cover - the package always ships its value sets
                raise ValueSetError(f"value set directory {path} is missing")
            raise ValueSetError(f"{VALUESETS_ENV}: {path} is not a directory")
        for file in sorted(path.glob("*.json")):
            terminology.add_file(file)
    return terminology


def get_terminology() -> Terminology:
    """The value sets of the package plus those of ``IGWATCH_VALUESETS_DIR``, loaded once."""
    return _load(_directories())


def clear_cache() -> None:
    """Forget loaded value sets (tests that change ``IGWATCH_VALUESETS_DIR``)."""
    _load.cache_clear()
    _cached_name_matches.cache_clear()


def match(concept: object, within: Collection[str] | None = None) -> tuple[ConceptMatch, ...]:
    """Shortcut for ``get_terminology().match(...)``."""
    return get_terminology().match(concept, within)
