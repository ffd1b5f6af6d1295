"""FHIR R4 JSON → :class:`~igwatch.timeline.Timeline` (contract §1, clinical-spec §3 and §7).

Two steps:

- :func:`parse_input` (:mod:`igwatch.fhir.reader`, shared with the store and the screen) turns bytes (a Bundle, a single resource or NDJSON, gzip
  or not; detected by content) into a flat list of resource dicts. Nested Bundles are flattened.
  Each resource that came from a Bundle entry with a ``fullUrl`` carries it under
  :data:`FULL_URL_KEY`, so ``urn:uuid:`` references can be resolved later from the list alone.
- :func:`build_timeline` (:mod:`.builder`) picks the patient (:mod:`.patients`), keeps the
  resources about them (:mod:`.core`), resolves references (:mod:`.index`: ``Type/id``,
  ``urn:uuid:`` through ``fullUrl``, contained ``#id``) and maps each resource to a typed item with
  its type's reader (:mod:`.observations`, :mod:`.conditions`, :mod:`.medications`,
  :mod:`.immunizations`, :mod:`.service_requests`), converting units (:mod:`igwatch.fhir.units`)
  and classifying codes (:mod:`igwatch.fhir.terminology`, through :mod:`.vocabulary`).

Malformed input never raises anything but :class:`~igwatch.errors.InputRefused`, and that only for
the whole-input cases (not FHIR, no patient or several without a choice, an unknown patient, a
missing file). Everything else becomes a data issue or is skipped. The walk is plain dict access
with defensive accessors (:mod:`.values`); no model validation on this path.
"""

from igwatch.fhir.ingest.builder import build_timeline, load_timeline
from igwatch.fhir.ingest.patients import MAX_NAME_CHARS
from igwatch.fhir.ingest.values import parse_date
from igwatch.fhir.ingest.vocabulary import (
    ANTIBIOTIC_RESPONSE_URL,
    CONDITION_SETS,
    VACCINE_SETS,
    medication_sets,
)
from igwatch.fhir.reader import FULL_URL_KEY, parse_input, read_path, resources_from_json

__all__ = [
    "ANTIBIOTIC_RESPONSE_URL",
    "CONDITION_SETS",
    "FULL_URL_KEY",
    "MAX_NAME_CHARS",
    "VACCINE_SETS",
    "build_timeline",
    "load_timeline",
    "medication_sets",
    "parse_date",
    "parse_input",
    "read_path",
    "resources_from_json",
]
