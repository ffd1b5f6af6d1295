"""Commands about the knowledge: ``rules`` (the catalog) and ``explain`` (one recommendation or
statement).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Annotated, Any

import typer

from igwatch.errors import InputRefused

if TYPE_CHECKING:
    from igwatch.knowledge.catalog import Knowledge
from igwatch.cli.common import PlainFormat, app, chosen_profile, guard, print_json, shipped_knowledge

HELP_PANEL = "Knowledge"


def catalog_json(kb: Knowledge) -> dict[str, Any]:
    """``igwatch rules --format json``: the catalog in order, and the statements it cites."""
    cited = {sid for entry in kb.catalog.values() for sid in entry.statements}
    return {
        "recommendations": [
            {
                "id": e.id,
                "title": e.title,
                "area": e.area,
                "population": e.population,
                "priority": e.priority,
                "priority_rule": e.priority_rule,
                "fires_when": e.fires_when,
                "summary": e.summary,
                "statements": list(e.statements),
                "parameters": list(e.parameters),
                "reason_codes": list(e.reason_codes),
            }
            for e in kb.catalog.values()
        ],
        "statements": [
            {
                "id": s.id,
                "document": s.document,
                "section": s.section,
                "summary": s.summary,
                "citations": list(s.citations),
                "cited": s.id in cited,
            }
            for s in kb.statements.values()
        ],
    }


@app.command(rich_help_panel=HELP_PANEL)
def rules(
    output_format: Annotated[PlainFormat, typer.Option("--format", help="text or json.")] = PlainFormat.text,
) -> None:
    """The recommendation catalog: id, population, priority, statements, when it fires."""

    def body() -> None:
        kb = shipped_knowledge()
        if output_format is PlainFormat.json:
            print_json(catalog_json(kb))
        else:
            from igwatch.render.text import print_catalog

            print_catalog(kb)

    guard(body)


@app.command(rich_help_panel=HELP_PANEL)
def explain(
    identifier: Annotated[
        str, typer.Argument(metavar="ID", help="A recommendation id (igrt.start) or a statement id (K-8).")
    ],
    profile: Annotated[
        str,
        typer.Option("--profile", metavar="NAME|PATH", help="Show parameter values from this profile."),
    ] = "default",
) -> None:
    """One recommendation in full: when it fires, what it says, its parameters and statements."""

    def body() -> None:
        kb = shipped_knowledge()
        key = identifier.strip()
        recommendation_id = kb.resolve(key.lower())  # a former id (kesimpta.*) is an alias
        if recommendation_id is not None:
            chosen = chosen_profile(profile)
            from igwatch.render.text import print_explain_recommendation

            print_explain_recommendation(kb.catalog[recommendation_id], kb, chosen)
            return
        if key.upper() in kb.statements:
            from igwatch.render.text import print_explain_statement

            print_explain_statement(kb.statements[key.upper()], kb)
            return
        close = difflib.get_close_matches(key.lower(), list(kb.catalog), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `igwatch rules` lists them"
        raise InputRefused(f"explain {identifier!r}: not a recommendation or statement id{hint}")

    guard(body)
