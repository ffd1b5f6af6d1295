"""igwatch: clinical decision support for immunoglobulin monitoring and replacement.

The public API: ``load_timeline`` (FHIR → Timeline), ``load_profile`` and ``assess``.
"""

from igwatch.assessment import Assessment
from igwatch.engine import assess
from igwatch.knowledge.profile import Profile, load_profile

__version__ = "0.1.0"


def load_timeline(path: str, patient_id: str | None = None):  # type: ignore[no-untyped-def]
    """Read a FHIR Bundle or NDJSON file into a Timeline (see ``igwatch.fhir.ingest``)."""
    from igwatch.fhir.ingest import load_timeline as _load

    return _load(path, patient_id)


__all__ = ["Assessment", "Profile", "assess", "load_profile", "load_timeline"]
