"""The recommendation catalog and the statement index, loaded from data files in this package.

``catalog.toml`` holds one entry per recommendation id (clinical-spec §5) with its texts,
statements, base priority, profile parameters and reason codes; ``statements.json`` holds every
statement (K-1 … K-22, D-1 … D-17) with its verbatim source text and citation numbers. Both are
validated when first loaded, so a broken data file fails at start, not in front of a patient.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

KNOWLEDGE_DIR = Path(__file__).parent
PRIORITIES = ("info", "warning", "critical")


class KnowledgeError(Exception):
    """A knowledge file is inconsistent (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class Statement:
    id: str
    document: str
    section: str
    text: str
    citations: tuple[int, ...]
    summary: str
    note: str = ""

    @property
    def citation_label(self) -> str:
        return ", ".join(str(c) for c in self.citations)


@dataclass(frozen=True)
class Document:
    key: str
    title: str
    file: str
    source_file: str

    def text(self) -> str:
        return (KNOWLEDGE_DIR / self.source_file).read_text(encoding="utf-8")


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    area: str
    population: str
    title: str
    summary: str
    fires_when: str
    detail: str
    priority: str
    priority_rule: str
    statements: tuple[str, ...]
    parameters: tuple[str, ...]
    reason_codes: tuple[str, ...]
    reason_text: dict[str, str] = field(default_factory=dict)
    summary_variants: dict[str, str] = field(default_factory=dict)
    class_note: str = ""
    order: int = 0
    aliases: tuple[str, ...] = ()
    door: str = "assess"  # "order": judged by the order hooks' rules only (rules/orders.py)
    worklist_flag: str = ""  # the worklist column it sets when it fires (igwatch.worklist)
    bottom_line_alert: str = ""  # what the bottom line always adds while it fires (§5, end)

    def summary_for(self, variant: str | None) -> str:
        if variant is None:
            return self.summary
        try:
            return self.summary_variants[variant]
        except KeyError:
            raise KnowledgeError(f"catalog {self.id}: no summary variant '{variant}'") from None


@dataclass(frozen=True)
class Knowledge:
    documents: dict[str, Document]
    statements: dict[str, Statement]
    catalog: dict[str, CatalogEntry]

    def entry(self, recommendation_id: str) -> CatalogEntry:
        return self.catalog[recommendation_id]

    def resolve(self, recommendation_id: str) -> str | None:
        """The current id of an id or a former one (revision 2 renamed ``kesimpta.*``)."""
        if recommendation_id in self.catalog:
            return recommendation_id
        return next((e.id for e in self.catalog.values() if recommendation_id in e.aliases), None)

    def catalog_order(self, recommendation_id: str) -> int:
        return self.catalog[recommendation_id].order


def _tuple_of_str(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in raw.get(key, []))


def _load_statements(path: Path) -> tuple[dict[str, Document], dict[str, Statement]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    documents = {
        d["key"]: Document(d["key"], d["title"], d["file"], d["source_file"]) for d in raw["documents"]
    }
    statements: dict[str, Statement] = {}
    for s in raw["statements"]:
        if s["document"] not in documents:
            raise KnowledgeError(f"statement {s['id']}: unknown document {s['document']}")
        statements[s["id"]] = Statement(
            id=s["id"],
            document=s["document"],
            section=s.get("section", ""),
            text=s["text"],
            citations=tuple(int(c) for c in s.get("citations", [])),
            summary=s.get("summary", ""),
            note=s.get("note", ""),
        )
    return documents, statements


def _load_catalog(path: Path, statements: dict[str, Statement]) -> dict[str, CatalogEntry]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    catalog: dict[str, CatalogEntry] = {}
    for order, item in enumerate(raw["recommendation"]):
        entry = CatalogEntry(
            id=item["id"],
            area=item.get("area", ""),
            population=item["population"],
            title=item.get("title", item["id"]),
            summary=item["summary"],
            fires_when=item.get("fires_when", ""),
            detail=item.get("detail", ""),
            priority=item["priority"],
            priority_rule=item.get("priority_rule", item["priority"]),
            statements=_tuple_of_str(item, "statements"),
            parameters=_tuple_of_str(item, "parameters"),
            reason_codes=_tuple_of_str(item, "reason_codes"),
            reason_text=dict(item.get("reason_text", {})),
            summary_variants=dict(item.get("summary_variants", {})),
            class_note=item.get("class_note", ""),
            order=order,
            aliases=_tuple_of_str(item, "aliases"),
            door=item.get("door", "assess"),
            worklist_flag=item.get("worklist_flag", ""),
            bottom_line_alert=item.get("bottom_line_alert", ""),
        )
        if entry.priority not in PRIORITIES:
            raise KnowledgeError(f"catalog {entry.id}: priority {entry.priority!r}")
        missing = [s for s in entry.statements if s not in statements]
        if missing or not entry.statements:
            raise KnowledgeError(f"catalog {entry.id}: statements {missing or 'none'} not in the index")
        catalog[entry.id] = entry
    return catalog


@cache
def knowledge() -> Knowledge:
    """The shipped knowledge, loaded and checked once."""
    documents, statements = _load_statements(KNOWLEDGE_DIR / "statements.json")
    catalog = _load_catalog(KNOWLEDGE_DIR / "catalog.toml", statements)
    return Knowledge(documents=documents, statements=statements, catalog=catalog)
