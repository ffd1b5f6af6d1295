"""The knowledge pages: the catalog, each recommendation with its parameters, each statement,
and the source documents with their statements marked.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from igwatch.knowledge.catalog import Knowledge
from igwatch.render.words import parameter_value, statement_source
from igwatch.web.site import WebSite, render


def knowledge_router(site: WebSite) -> APIRouter:
    router = APIRouter(route_class=site.route_class, include_in_schema=False)

    kb = site.kb

    @router.get("/knowledge", response_class=HTMLResponse)
    def knowledge_index(request: Request) -> Response:
        return render(
            "knowledge_index.html",
            **site.base_context(request),
            catalog=list(kb.catalog.values()),
            statements=list(kb.statements.values()),
            documents=list(kb.documents.values()),
        )

    @router.get("/knowledge/recommendations/{rec_id}", response_class=HTMLResponse)
    def knowledge_recommendation(request: Request, rec_id: str) -> Response:
        entry = kb.catalog.get(rec_id)
        if entry is None:
            raise HTTPException(404, "No recommendation with this id in the catalog.")
        profile = site.profile_for(request)
        return render(
            "knowledge_recommendation.html",
            **site.base_context(request),
            entry=entry,
            statements=[kb.statements[s] for s in entry.statements],
            parameters=[
                (key, parameter_value(profile, key), profile.provenance.get(key, ""))
                for key in entry.parameters
            ],
            profile=profile.name,
            profiles=list(site.profiles),
        )

    @router.get("/knowledge/statements/{statement_id}", response_class=HTMLResponse)
    def knowledge_statement(request: Request, statement_id: str) -> Response:
        statement = kb.statements.get(statement_id)
        if statement is None:
            raise HTTPException(404, "No statement with this id.")
        used_by = [e for e in kb.catalog.values() if statement_id in e.statements]
        return render(
            "knowledge_statement.html",
            **site.base_context(request),
            statement=statement,
            document=kb.documents[statement.document],
            source=statement_source(statement, kb),
            used_by=used_by,
        )

    @router.get("/knowledge/documents/{key}", response_class=HTMLResponse)
    def knowledge_document(request: Request, key: str) -> Response:
        document = kb.documents.get(key)
        if document is None:
            raise HTTPException(404, "No source document with this key (K or D).")
        return render(
            "knowledge_document.html",
            **site.base_context(request),
            document=document,
            blocks=document_blocks(kb, key),
        )

    return router


def without_citations(text: str) -> str:
    """A line without its bullet and bare citation numbers (" 4 ", " 3, 1"), spaces collapsed."""
    bare = re.sub(r"\s\d+(?:,\s*\d+)*(?=\s|$)", " ", f" {text} ")
    return " ".join(bare.split()).removeprefix("- ")


def document_blocks(kb: Knowledge, key: str) -> list[dict[str, Any]]:
    """The source document as blocks of lines; lines that are a statement carry its id as anchor."""
    lines = kb.documents[key].text().splitlines()
    starts: dict[int, tuple[str, int]] = {}
    normalised = [without_citations(line) for line in lines]
    for statement in kb.statements.values():
        if statement.document != key:
            continue
        head = without_citations(statement.text.split("\n")[0])[:50]
        for index, line in enumerate(normalised):
            if head and line.startswith(head) and index not in starts:
                starts[index] = (statement.id, max(1, len(statement.text.strip().splitlines())))
                break
    blocks: list[dict[str, Any]] = []
    index = 0
    while index < len(lines):
        if index in starts:
            statement_id, count = starts[index]
            blocks.append({"statement": statement_id, "lines": lines[index : index + count]})
            index += count
        else:
            blocks.append({"statement": None, "lines": [lines[index]]})
            index += 1
    return blocks
