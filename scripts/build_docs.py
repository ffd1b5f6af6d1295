#!/usr/bin/env python3
"""Write docs/recommendations/<id>.md, one page per recommendation, from the catalog.

The same content as the web app's knowledge pages, as Markdown a newcomer reads beside the code:
when the recommendation fires, what it says, its priority rule, its statements (verbatim, with the
documents' citation numbers) and the profile parameters it reads with their default values and
where they come from. A test checks that the pages are current; run this after changing the
catalog, the statements or the default profile.

Run:  .venv/bin/python scripts/build_docs.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from igwatch.knowledge.catalog import CatalogEntry, Knowledge, knowledge
from igwatch.knowledge.profile import Profile, load_profile

DOCS = Path(__file__).resolve().parents[1] / "docs" / "recommendations"


def _value(profile: Profile, key: str) -> str:
    value = getattr(profile, key)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
    if isinstance(value, tuple):
        return "–".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def page(entry: CatalogEntry, kb: Knowledge, profile: Profile) -> str:
    lines = [f"# `{entry.id}` — {entry.title}", ""]
    if entry.aliases:
        lines += [f"Formerly: {', '.join(f'`{a}`' for a in entry.aliases)}.", ""]
    door = "assessments and patient-view" if entry.door == "assess" else "the order hooks only"
    lines += [
        f"- Population: {entry.population}; judged in {door}",
        f"- Priority: {entry.priority_rule}",
        f"- Summary: {entry.summary.replace('{agent}', 'the agent (named)')}",
        "",
        "## When it fires",
        "",
        entry.fires_when.strip(),
        "",
        "## What it says",
        "",
        entry.detail.strip(),
        "",
    ]
    if entry.summary_variants:
        lines += ["## Summary variants", ""]
        lines += [
            f"- `{key}`: {text.replace('{agent}', 'the agent (named)')}" for key, text in entry.summary_variants.items()
        ]
        lines.append("")
    if entry.reason_codes:
        lines += ["## Reason codes", ""]
        lines += [f"- `{code}`: {entry.reason_text.get(code, '')}" for code in entry.reason_codes]
        lines.append("")
    lines += ["## Statements", ""]
    for sid in entry.statements:
        statement = kb.statements[sid]
        text = " ".join(statement.text.split())
        lines.append(f"- **{sid}** ({statement.document} [{statement.citation_label}]): {text}")
    lines.append("")
    if entry.parameters:
        lines += ["## Profile parameters (default profile)", "", "| key | value | from |", "|---|---|---|"]
        for key in entry.parameters:
            source = profile.provenance.get(key, "").replace("|", "/")
            lines.append(f"| `{key}` | {_value(profile, key)} | {source} |")
        lines.append("")
    if entry.class_note:
        lines += [f"_{entry.class_note}_", ""]
    return "\n".join(lines)


def expected_pages() -> dict[Path, str]:
    kb = knowledge()
    profile = load_profile("default")
    pages = {DOCS / f"{entry.id}.md": page(entry, kb, profile) for entry in kb.catalog.values()}
    index = ["# Recommendations", "", "One page per recommendation id, in catalog order.", ""]
    index += [f"- [`{e.id}`]({e.id}.md) — {e.title}" for e in kb.catalog.values()]
    pages[DOCS / "README.md"] = "\n".join(index) + "\n"
    return pages


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    pages = expected_pages()
    for stale in set(DOCS.glob("*.md")) - set(pages):
        stale.unlink()
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
