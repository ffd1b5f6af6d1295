"""The input index: every resource by type/id, fullUrl and contained id, so a reference resolves
from the list alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from igwatch.fhir.ingest.values import as_str, objects_in
from igwatch.fhir.reader import FULL_URL_KEY, reference_text


@dataclass
class ResourceIndex:
    """Every resource of the input, by ``Type/id`` and by ``fullUrl``."""

    by_key: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    by_url: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def add(self, resource: Mapping[str, Any], rtype: str | None, rid: str | None, url: str | None) -> None:
        """Index ``resource`` under its (already read) type, id and ``fullUrl``; first one wins."""
        if rtype and rid:
            self.by_key.setdefault((rtype, rid), resource)
        if url:
            self.by_url.setdefault(url, resource)

    def resolve(
        self, reference: object, container: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        """The resource a Reference (object or string) points to, or None."""
        ref = reference_text(reference)
        if ref is None:
            return None
        if ref.startswith("#"):
            if container is None:
                return None
            wanted = ref[1:]
            for contained in objects_in(container.get("contained")):
                if as_str(contained.get("id")) == wanted:
                    return contained
            return None
        found = self.by_url.get(ref)
        if found is not None:
            return found
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            return None
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            return self.by_key.get((parts[-2], parts[-1]))
        return None


def resource_key(resource: Mapping[str, Any]) -> str:
    return record_key(
        as_str(resource.get("resourceType")), as_str(resource.get("id")), as_str(resource.get(FULL_URL_KEY))
    )


def record_key(rtype: str | None, rid: str | None, url: str | None, position: int | None = None) -> str:
    """A record's key: ``Type/id``, else its ``fullUrl``, else ``Type/(no id)``. Given the
    record's ``position`` in the input, a record with neither id nor ``fullUrl`` is keyed by it, so
    that two of them are not taken for one."""
    if rid:
        return f"{rtype or 'Resource'}/{rid}"
    if url:
        return url
    return f"{rtype or 'Resource'}/(no id{'' if position is None else f', record {position}'})"
