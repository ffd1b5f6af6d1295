"""The extraction shared by both engines: igwatch's ViewDefinitions and the relevance filter.

The columns igwatch reads from FHIR are defined once, as SQL on FHIR v2 ViewDefinitions shipped in
``igwatch/population/views/`` (one per resource type; a site can run them on its own engine).
Each view carries exactly the elements :mod:`igwatch.fhir.ingest` reads, in a long shape: the
resource's scalar columns on every row, and one row per coding of each CodeableConcept (or per
Reference / extension) it reads, told apart by ``element`` and ordered by ``item`` (the concept's
index in its list) and ``coding_item``.

The relevance filter then keeps, in SQL, only the rows that can matter, and it is deliberately
*wider* than ingest's recognition, so the per-patient step sees every record ingest would use:

1. before the views, a case-insensitive regex over each raw JSON line (:func:`prefilter_regex`:
   the quoted codes of every value set, ICD-10 by prefix, any CVX system, ASCII fragments of the
   name-fallback words, ``medicationReference``; Encounters only if inpatient-class; Patients and
   Immunizations all), so the views parse only candidate resources;
2. after the views, per coding: a code of any value set in any system (normalised: upper case,
   no dots, no leading zeros; ICD-10 by prefix), or text/display containing a word of the rule's
   most selective word group, or a CVX coding; plus the records those point to (Observations
   named as infection evidence, Encounters of kept Conditions, Medications of kept medication
   records).

A patient is *screened* (assessed) only when a kept record can put them in a population: an
anti-CD20 or other B-cell-depleting agent, an IgM result, or a selective IgM deficiency diagnosis
(facts F1 and F8). Anyone else is in neither population, so ``assess`` would fire nothing; they
cost nothing beyond the scan.

Known limits, the same for both engines: a code written with surrounding whitespace can slip
past the raw-line prefilter; a non-inpatient Encounter is not read, which only matters when two
infections name the same encounter by differently written references; patients are grouped by
``Patient/<id>`` references (an unresolvable ``urn:uuid:`` subject is nobody's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from igwatch.fhir import terminology as tx

VIEWS_PACKAGE: Final = "igwatch.population"

#: Resource type → view file (in igwatch/population/views/) and the short table name used in SQL.
VIEW_FILES: Final[dict[str, tuple[str, str]]] = {
    "Patient": ("patient.json", "patient"),
    "Observation": ("observation.json", "observation"),
    "Condition": ("condition.json", "condition"),
    "Encounter": ("encounter.json", "encounter"),
    "Medication": ("medication.json", "medication"),
    "MedicationStatement": ("medication-statement.json", "medication_statement"),
    "MedicationRequest": ("medication-request.json", "medication_request"),
    "MedicationAdministration": ("medication-administration.json", "medication_administration"),
    "Immunization": ("immunization.json", "immunization"),
    "ServiceRequest": ("service-request.json", "service_request"),
}
MEDICATION_USES: Final = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
#: The long (per-coding) columns every view but Patient's has.
LONG_COLUMNS: Final = ("element", "item", "text", "system", "code", "display", "coding_item")
#: Value sets whose codes alone do not bring a patient into the screen.
_CONTEXT_ONLY_SETS: Final = frozenset({"body-weight", "body-height"})


def load_view(resource_type: str) -> dict[str, Any]:
    """The igwatch ViewDefinition (parsed JSON) for one resource type."""
    name = VIEW_FILES[resource_type][0]
    text = resources.files(VIEWS_PACKAGE).joinpath("views", name).read_text(encoding="utf-8")
    view: dict[str, Any] = json.loads(text)
    return view


def load_views() -> dict[str, dict[str, Any]]:
    """Every igwatch ViewDefinition, by resource type."""
    return {rtype: load_view(rtype) for rtype in VIEW_FILES}


def table_name(resource_type: str) -> str:
    """The SQL table (or Spark view) holding one view's output."""
    return "igw_v_" + VIEW_FILES[resource_type][1]


# --------------------------------------------------------------------------- the filter's vocabulary

#: Value sets whose records can put a patient in a population (facts F1 and F8): anti-CD20 and other
#: B-cell-depleting agents (found by their ``medication-category``), an IgM result, a selective IgM
#: deficiency diagnosis. A patient with none of these is in neither population, so is not assessed.
_SCREENING_SETS: Final = frozenset({"igm", "selective-igm-deficiency"})
_SCREENING_CATEGORIES: Final = frozenset({"anti-cd20", "other-b-cell-depleting"})
_MIN_TOKEN: Final = 3


@dataclass(frozen=True)
class Matcher:
    """Codes, ICD-10 prefixes and name words of some value sets, as SQL-ready patterns."""

    codes: frozenset[str]  # normalised (see :func:`normalise_code`)
    icd_regex: str  # matches a normalised ICD-10 code under a listed one
    name_regex: str  # matches lower-cased text containing a name-fallback word
    tokens: frozenset[str]  # ASCII fragments of the name words, for the raw-line prefilter


@dataclass(frozen=True)
class Vocabulary:
    """What the filter looks for, taken from the loaded value sets."""

    keep: Matcher  # every value set: the records ingest may use
    screen: Matcher  # the sets that can put a patient in a population
    cvx_systems: frozenset[str]


def normalise_code(code: str) -> str:
    """The normal form both the SQL and this module compare codes in (see :func:`code_norm_sql`)."""
    return code.strip().upper().replace(".", "").lstrip("0")


def _sql_regex_literal_word(word: str) -> str:
    """A word as a regex that is the same in RE2 (DuckDB) and Java (Spark), without backslashes
    (Spark SQL string literals treat backslashes as escapes)."""
    out: list[str] = []
    for char in word:
        if char.isalnum() or char == " ":
            out.append(char)
        elif char in "]\\^":
            out.append(".")  # wider, never narrower
        else:
            out.append(f"[{char}]")
    return "".join(out)


_REGEX_ATOM: Final = re.compile(r"\[[^\]]\]|.", re.S)


def _any_of(words: set[str]) -> str:
    """A regex found in a text wherever one of ``words`` (made by :func:`_sql_regex_literal_word`)
    is, merged into a prefix tree: Java's backtracking regex (Spark's RLIKE) tries every branch
    of an alternation at each position, and a tree has a few branches where the list has
    hundreds. A word that extends a listed word adds no match (the regex is searched, never
    anchored), so it is dropped."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for atom in _REGEX_ATOM.findall(word):
            node = node.setdefault(atom, {})
        node[""] = {}

    def spelled(node: dict[str, Any]) -> str:
        if "" in node:
            return ""
        branches = [atom + spelled(child) for atom, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return spelled(tree)


_WORDS_RE: Final = re.compile(r"\(\?:(.*)\)\(\?!")


def _rule_words(pattern: re.Pattern[str]) -> list[str]:
    found = _WORDS_RE.search(pattern.pattern)
    if found is None:  # pragma: no cover - the terminology builds every group this way
        raise ValueError(f"unexpected name-fallback pattern {pattern.pattern!r}")
    words = re.split(r"(?<!\\)\|", found.group(1))
    return [re.sub(r"\\(.)", r"\1", w) for w in words if w]


def _ascii_token(word: str) -> str:
    """The longest run of ASCII letters, digits and spaces in a word (JSON may escape the rest)."""
    runs = re.findall(r"[a-z0-9 ]+", word.casefold())
    return max(runs, key=len, default="").strip()


def _rule_group(rule: tx.NameRule) -> list[str]:
    """The words of the rule's most selective group. Every group must match for the rule to
    match, so any one group alone is a wider filter than the rule; the one whose shortest word is
    longest lets the fewest unrelated records through."""
    groups = [[w.casefold() for w in _rule_words(g)] for g in rule.groups]
    return max(groups, key=lambda words: min((len(_ascii_token(w)) for w in words), default=0))


def _matcher(terminology: tx.Terminology, sets: frozenset[str] | None) -> Matcher:
    codes: set[str] = set()
    icd: set[str] = set()
    for (system, code), entries in terminology._codes.items():
        if sets is not None and not any(entry[0] in sets for entry in entries):
            continue
        norm = normalise_code(code)
        if norm:
            codes.add(norm)
            if system == "icd-10":
                icd.add(norm)
    words: set[str] = set()
    for name, rules in terminology._rules.items():
        if sets is not None and name not in sets:
            continue
        for rule in rules:
            words.update(w for w in _rule_group(rule) if w.strip())
    tokens = {_ascii_token(w) for w in words}
    short = sorted(t for t in tokens if len(t) < _MIN_TOKEN)
    if short:  # a fragment this short would match nearly every record: keep the whole word instead
        tokens = {t for t in tokens if len(t) >= _MIN_TOKEN} | {
            w for w in words if len(_ascii_token(w)) < _MIN_TOKEN
        }
    return Matcher(
        codes=frozenset(codes),
        icd_regex="^(" + "|".join(sorted(icd)) + ")" if icd else "^$",
        name_regex=_any_of({_sql_regex_literal_word(w) for w in words}) or "^$",
        tokens=frozenset(tokens),
    )


@lru_cache(maxsize=4)
def _vocabulary(terminology: tx.Terminology) -> Vocabulary:
    screening = set(_SCREENING_SETS)
    for name, info in terminology.valuesets.items():
        if info.properties.get("medication-category") in _SCREENING_CATEGORIES:
            screening.add(name)
    cvx = {tx.CVX} | {alias for alias, canonical in tx._SYSTEM_ALIASES.items() if canonical == tx.CVX}
    return Vocabulary(
        keep=_matcher(terminology, None),
        screen=_matcher(terminology, frozenset(screening)),
        cvx_systems=frozenset(cvx),
    )


def vocabulary() -> Vocabulary:
    """The filter vocabulary of the currently loaded value sets (package + ``IGWATCH_VALUESETS_DIR``)."""
    return _vocabulary(tx.get_terminology())


#: Encounter classes ingest counts as inpatient; only such Encounters change an assessment.
INPATIENT_CLASS_TOKENS: Final = ("IMP", "ACUTE", "NONAC")


def prefilter_regex(resource_type: str, vocab: Vocabulary) -> str | None:
    """A case-insensitive regex over a resource's raw JSON line that every record the views could
    keep matches (None: keep every line). It looks for the quoted codes (ICD-10 by prefix), any
    CVX system, and the ASCII fragments of the name words; a wider net than the SQL filter after
    the views, so it never changes an answer, only how much JSON the views parse."""
    if resource_type in ("Patient", "Immunization"):
        return None
    if resource_type == "Encounter":
        return '"(' + "|".join(INPATIENT_CLASS_TOKENS) + ')"'
    keep = vocab.keep
    parts: set[str] = set()
    icd_prefixes = set(keep.icd_regex[2:-1].split("|")) if keep.icd_regex != "^$" else set()
    for code in keep.codes - icd_prefixes:
        # as written in the JSON, quoted; CVX codes may carry leading zeros
        parts.add('"0*' + _sql_regex_literal_word(code) + '"')
    for prefix in icd_prefixes:
        # ICD-10 by prefix, with or without the dot after the category
        head, tail = prefix[:3], prefix[3:]
        parts.add(
            '"' + _sql_regex_literal_word(head) + ("[.]?" + _sql_regex_literal_word(tail) if tail else "")
        )
    parts.update(_sql_regex_literal_word(t) for t in keep.tokens)
    parts.update(_sql_regex_literal_word(s.casefold()) for s in vocab.cvx_systems)
    if resource_type in MEDICATION_USES:  # the drug may be a Medication named by reference
        parts.add('"medicationreference"')
    return "(?i)(" + "|".join(sorted(parts)) + ")"


def prefilter_key(vocab: Vocabulary) -> str:
    """Changes when the prefilter would (so a Parquet cache built with other value sets is redone)."""
    return json.dumps({t: prefilter_regex(t, vocab) for t in VIEW_FILES}, sort_keys=True)


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class Dialect:
    """The few spellings that differ between DuckDB and Spark SQL."""

    name: str
    regex_match: Callable[[str, str], str]


DUCKDB: Final = Dialect("duckdb", lambda expr, pattern: f"regexp_matches({expr}, {pattern})")
SPARK: Final = Dialect("spark", lambda expr, pattern: f"({expr} RLIKE {pattern})")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in_list(values: frozenset[str]) -> str:
    return "(" + ", ".join(_quote(v) for v in sorted(values)) + ")" if values else "(NULL)"


def code_norm_sql(expr: str) -> str:
    """SQL for :func:`normalise_code` (upper case, no dots, no leading zeros)."""
    return f"regexp_replace(upper(replace(trim({expr}), '.', '')), '^0+', '')"


def _patient_key_sql(expr: str) -> str:
    """The Patient id a reference names (``Patient/x``, ``…/Patient/x``, ``…/_history/n``); ''
    when it names none. Grouping by this key is what "the patient's own records" means here."""
    return f"regexp_extract(regexp_replace({expr}, '/_history/.*$', ''), '(^|/)Patient/([^/]+)/?$', 2)"


def _ref_id_sql(expr: str, resource_type: str) -> str:
    return (
        f"regexp_extract(regexp_replace({expr}, '/_history/.*$', ''), '(^|/){resource_type}/([^/]+)/?$', 2)"
    )


@dataclass(frozen=True)
class FilterPlan:
    """``statements``: (table, SELECT) pairs to create in order (each may use the earlier ones);
    ``kept``: SELECTs of the kept rows of each view, with ``patient`` and ``resource_type`` added,
    for screened patients only; their union (by column name) is what the per-patient step reads."""

    statements: list[tuple[str, str]]
    kept: list[str]


def filter_plan(dialect: Dialect, vocab: Vocabulary, present: frozenset[str]) -> FilterPlan:
    """The relevance filter as SQL over the view tables of the resource types in ``present``."""
    rx = dialect.regex_match
    norm = code_norm_sql("code")
    lowered = "lower(coalesce(text, '') || ' ' || coalesce(display, ''))"

    def hit(matcher: Matcher) -> str:
        return (
            f"({norm} IN {_in_list(matcher.codes)} OR {rx(norm, _quote(matcher.icd_regex))} "
            f"OR {rx(lowered, _quote(matcher.name_regex))})"
        )

    keep, screen = hit(vocab.keep), hit(vocab.screen)
    cvx_hit = f"trim(system) IN {_in_list(vocab.cvx_systems)}"
    statements: list[tuple[str, str]] = []
    kept_parts: list[str] = []

    def keyed(rtype: str) -> str:
        return f"SELECT *, {_patient_key_sql('patient_ref')} AS patient FROM {table_name(rtype)}"

    def flag(expr: str) -> str:
        return f"max(CASE WHEN {expr} THEN 1 ELSE 0 END)"

    has_medication = "Medication" in present
    if has_medication:  # Medications named by medication records: kept / screening by their code
        statements.append(
            (
                "igw_hit_medication",
                f"SELECT id, {flag(screen)} AS screens FROM {table_name('Medication')} "
                f"WHERE element = 'code' AND ({keep} OR {cvx_hit}) GROUP BY id",
            )
        )
    screening_parts: list[str] = []
    for rtype in ("Observation", "Condition", "ServiceRequest", "Immunization", *MEDICATION_USES):
        if rtype not in present:
            continue
        name = VIEW_FILES[rtype][1]
        if rtype == "Immunization":  # every vaccination given is read; none screens a patient in
            select = f"SELECT patient, id, 0 AS screens FROM ({keyed(rtype)}) GROUP BY patient, id"
        elif rtype in MEDICATION_USES:
            ref_name = rx("lower(coalesce(medication_ref_display, ''))", _quote(vocab.keep.name_regex))
            ref_screen = rx("lower(coalesce(medication_ref_display, ''))", _quote(vocab.screen.name_regex))
            ref_id = _ref_id_sql("medication_ref", "Medication")
            join = (
                f"LEFT JOIN igw_hit_medication m ON m.id = {ref_id} AND u.element = 'medication'"
                if has_medication
                else ""
            )
            m_hit = "m.id IS NOT NULL" if has_medication else "FALSE"
            m_screens = "coalesce(m.screens, 0) = 1" if has_medication else "FALSE"
            select = (
                f"SELECT u.patient, u.id, {flag(f'({screen} OR {ref_screen} OR {m_screens})')} AS screens "
                f"FROM ({keyed(rtype)}) u {join} "
                f"WHERE u.element IN ('medication', 'contained_medication') "
                f"AND ({keep} OR {cvx_hit} OR {ref_name} OR {m_hit}) "
                "GROUP BY u.patient, u.id"
            )
        else:
            main_filter = {
                "Observation": keep,
                "Condition": keep,
                "ServiceRequest": f"({keep} OR {cvx_hit})",
            }[rtype]
            screens = "0" if rtype == "ServiceRequest" else flag(screen)
            select = (
                f"SELECT patient, id, {screens} AS screens FROM ({keyed(rtype)}) "
                f"WHERE element = 'code' AND {main_filter} GROUP BY patient, id"
            )
        statements.append((f"igw_hit_{name}", select))
        screening_parts.append(f"SELECT patient FROM igw_hit_{name} WHERE screens = 1")
    if not screening_parts:
        screening_parts.append("SELECT CAST(NULL AS STRING) AS patient WHERE FALSE")
    statements.append(
        ("igw_screened", "SELECT DISTINCT patient FROM (" + " UNION ALL ".join(screening_parts) + ") s")
    )

    def kept_rows(rtype: str, id_source: str) -> str:
        return (
            f"SELECT r.*, '{rtype}' AS resource_type FROM ({keyed(rtype)}) r "
            f"JOIN ({id_source}) k ON r.patient = k.patient AND r.id = k.id "
            "WHERE r.patient IN (SELECT patient FROM igw_screened)"
        )

    for rtype in ("Condition", "ServiceRequest", "Immunization", *MEDICATION_USES):
        if rtype in present:
            kept_parts.append(kept_rows(rtype, f"SELECT patient, id FROM igw_hit_{VIEW_FILES[rtype][1]}"))
    if "Observation" in present:
        evidence = ""
        if "Condition" in present:  # Observations named as a kept infection's evidence (organisms)
            evidence = (
                f" UNION SELECT c.patient, {_ref_id_sql('c.code', 'Observation')} AS id "
                f"FROM ({keyed('Condition')}) c JOIN igw_hit_condition h ON c.patient = h.patient AND c.id = h.id "
                "WHERE c.element = 'evidence_detail'"
            )
        kept_parts.append(kept_rows("Observation", f"SELECT patient, id FROM igw_hit_observation{evidence}"))
    if "Encounter" in present and "Condition" in present:
        kept_parts.append(
            kept_rows(
                "Encounter",
                f"SELECT DISTINCT c.patient, {_ref_id_sql('c.encounter_ref', 'Encounter')} AS id "
                f"FROM ({keyed('Condition')}) c JOIN igw_hit_condition h ON c.patient = h.patient AND c.id = h.id",
            )
        )
    if has_medication:
        uses = [
            f"SELECT DISTINCT u.patient, {_ref_id_sql('u.medication_ref', 'Medication')} AS id "
            f"FROM ({keyed(rtype)}) u JOIN igw_hit_{VIEW_FILES[rtype][1]} h ON u.patient = h.patient AND u.id = h.id "
            "WHERE u.medication_ref IS NOT NULL"
            for rtype in MEDICATION_USES
            if rtype in present
        ]
        if uses:
            kept_parts.append(
                "SELECT m.*, CAST(NULL AS STRING) AS patient_ref, u.patient AS patient, 'Medication' AS resource_type "
                f"FROM {table_name('Medication')} m JOIN ({' UNION '.join(uses)}) u ON m.id = u.id "
                "WHERE u.patient IN (SELECT patient FROM igw_screened)"
            )
    if "Patient" in present:
        kept_parts.append(
            "SELECT p.*, 'Patient/' || p.id AS patient_ref, p.id AS patient, 'Patient' AS resource_type "
            f"FROM {table_name('Patient')} p WHERE p.id IN (SELECT patient FROM igw_screened)"
        )
    return FilterPlan(statements, kept_parts)
