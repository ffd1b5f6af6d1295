"""Which patient the input is about, and the patient's shown name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from igwatch.errors import InputRefused
from igwatch.fhir.ingest.values import as_list, as_str, objects_in


def patients_in(resources: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    anonymous: list[Mapping[str, Any]] = []
    for resource in resources:
        if resource.get("resourceType") != "Patient":
            continue
        pid = as_str(resource.get("id"))
        if pid is None:
            anonymous.append(resource)
        else:
            seen.setdefault(pid, resource)
    return list(seen.values()) + anonymous


def choose_patient(patients: list[Mapping[str, Any]], patient_id: str | None) -> Mapping[str, Any]:
    ids = [as_str(p.get("id")) or "(no id)" for p in patients]
    if patient_id is not None:
        for patient, pid in zip(patients, ids, strict=True):
            if pid == patient_id:
                return patient
        if not patients:
            raise InputRefused(f"patient {patient_id} is not in the input (it has no Patient)")
        raise InputRefused(f"patient {patient_id} is not in the input (patients: {_id_list(ids)})")
    if not patients:
        raise InputRefused("no Patient in the input")
    if len(patients) > 1:
        raise InputRefused(
            f"{len(patients)} patients in the input ({_id_list(ids)}); choose one with --patient"
        )
    return patients[0]


def _id_list(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown}, … {len(ids) - limit} more"


#: A name longer than this is cut (with "…") wherever igwatch shows it: a worklist row must not
#: carry megabytes because one record's name field does.
MAX_NAME_CHARS = 200


def patient_name(patient: Mapping[str, Any]) -> str:
    for name in objects_in(patient.get("name")):
        text = as_str(name.get("text"))
        if not text:
            given = [g for g in (as_str(x) for x in as_list(name.get("given"))) if g]
            family = as_str(name.get("family"))
            text = " ".join([*given, family] if family else given)
        if text:
            return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"
    return ""
