"""All the facts of one assessment, derived once (clinical-spec §4), and their contract JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any, Final, overload

from igwatch.facts.antibody_response import SpecificAntibodyResponse, specific_antibody_response
from igwatch.facts.b_cells import BCells, b_cells
from igwatch.facts.body_size import BodySize, body_size
from igwatch.facts.courses import is_planned
from igwatch.facts.diagnoses import IgmDeficiencyFact, autoimmune_conditions, igm_deficiency
from igwatch.facts.exposure import AntiCD20Exposure, anti_cd20_exposure
from igwatch.facts.ig_replacement import IgReplacement, ig_replacement
from igwatch.facts.immunoglobulins import Immunoglobulin, igg_severe, immunoglobulin, last_complete_panel
from igwatch.facts.infections import Episode, infection_episodes
from igwatch.facts.prophylaxis import Prophylaxis, prophylaxis
from igwatch.facts.trends import Trend, trend
from igwatch.facts.vaccines import live_vaccines_before_first_dose, live_vaccines_on_therapy
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, Diagnosis, Timeline, Vaccination


@dataclass(frozen=True)
class Facts:
    """Every fact of one patient at ``as_of`` (F1 ``exposure`` … F11 ``trends``), typed: the rules,
    the findings and every door read these attributes; :meth:`to_dict` is the contract JSON."""

    patient_id: str
    as_of: date
    exposure: AntiCD20Exposure
    b_cells: BCells
    igg: Immunoglobulin
    igm: Immunoglobulin
    iga: Immunoglobulin
    igg_severe: bool
    last_panel: date | None
    episodes: tuple[Episode, ...]
    igrt: IgReplacement
    prophylaxis: Prophylaxis
    antibody_response: SpecificAntibodyResponse
    igm_deficiency: IgmDeficiencyFact
    autoimmune: tuple[Diagnosis, ...]
    body: BodySize
    trends: tuple[Trend, ...]
    live_vaccines_given: tuple[Vaccination, ...]
    live_vaccines_recent: tuple[tuple[Vaccination, date], ...]
    last_cd19: date | None
    last_lymphocyte_subsets: date | None
    data_issues: tuple[DataIssue, ...] = field(default=())

    @property
    def in_k(self) -> bool:
        return self.exposure.status != "none"

    @property
    def in_d(self) -> bool:
        return self.igm_deficiency.status in ("confirmed", "suspected")

    @property
    def d_confirmed(self) -> bool:
        return self.igm_deficiency.status == "confirmed"

    @property
    def populations(self) -> list[str]:
        return [p for p, member in (("D", self.in_d), ("K", self.in_k)) if member]

    @property
    def b_cells_not_repleted(self) -> bool:
        """An agent was given, none is current, and repletion is not documented: unknown counts as
        not repleted. Revision 2: this holds while switching to another agent as well."""
        return self.exposure.status != "current" and self.exposure.exposed and not self.b_cells.repleted

    @property
    def anti_cd20_restricts(self) -> bool:
        """On anti-CD20 now, or stopped without documented B-cell repletion."""
        return self.exposure.status == "current" or self.b_cells_not_repleted

    def episodes_where(self, predicate: Callable[[Episode], bool]) -> list[Episode]:
        return [e for e in self.episodes if predicate(e)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "anti_cd20": _plain(self.exposure),
            "b_cells": _plain(self.b_cells),
            "immunoglobulins": {
                "igg": _plain(self.igg),
                "igm": _plain(self.igm),
                "iga": _plain(self.iga),
                "igg_severe": self.igg_severe,
                "last_complete_panel": _plain(self.last_panel),
            },
            "infection_episodes": _plain(self.episodes),
            "ig_replacement": _plain(self.igrt),
            "prophylaxis": _plain(self.prophylaxis),
            "specific_antibody_response": _plain(self.antibody_response),
            "igm_deficiency": _plain(self.igm_deficiency),
            "autoimmune_conditions": [{"id": d.id, "display": d.display} for d in self.autoimmune],
            "body_size": _plain(self.body),
            "trends": _plain(self.trends),
            "live_vaccines_given": [
                {"id": v.id, "date": _plain(v.date), "display": v.display} for v in self.live_vaccines_given
            ],
            "live_vaccines_recent": [
                {"id": v.id, "date": _plain(v.date), "display": v.display, "first_dose": _plain(first)}
                for v, first in self.live_vaccines_recent
            ],
        }


_FIELD_NAMES: Final[dict[type, tuple[str, ...] | None]] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass, None for any other class (kept per class: asked per value)."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
    return _FIELD_NAMES[cls]


_JSON_SCALARS: Final = frozenset({str, int, bool, type(None)})


@overload
def shown_number(value: float) -> float: ...
@overload
def shown_number(value: None) -> None: ...
@overload
def shown_number(value: float | None) -> float | None: ...
def shown_number(value: float | None) -> float | None:
    """A measured value as the contract JSON carries it (3 decimals): every door shows this one."""
    return None if value is None else round(value, 3)


def _plain(value: Any) -> Any:
    """Facts as JSON: dates as ISO strings, tuples as lists, dataclasses as dicts."""
    if type(value) in _JSON_SCALARS:
        return value
    if isinstance(value, date):
        return value.isoformat()
    names = _field_names(type(value))
    if names is not None:
        out: dict[str, Any] = {}
        for name in names:
            field_value = getattr(value, name)
            # Most fields are plain already: skip the call for them.
            out[name] = field_value if type(field_value) in _JSON_SCALARS else _plain(field_value)
        return out
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _JSON_SCALARS else _plain(v) for v in value]
    if isinstance(value, float):
        return shown_number(value)
    return value


def derive_facts(timeline: Timeline, as_of: date, profile: Profile, today: date | None = None) -> Facts:
    issues: list[DataIssue] = []
    if today is not None:
        _flag_future_records(timeline, today, issues)
    exposure = anti_cd20_exposure(timeline, as_of, profile, issues)
    igg = immunoglobulin(timeline, "igg", as_of, profile, issues)
    igm = immunoglobulin(timeline, "igm", as_of, profile, issues)
    iga = immunoglobulin(timeline, "iga", as_of, profile, issues)
    episodes = infection_episodes(timeline, as_of, profile, issues)
    body = body_size(timeline, as_of, profile)
    igrt = ig_replacement(timeline, as_of, profile, episodes, issues)
    response = specific_antibody_response(timeline, as_of, profile, igrt, issues)
    igg_trend = trend(
        timeline.labs_of("igg"),
        "igg",
        profile.igg_replacement_threshold_mg_dl,
        as_of,
        profile,
        exclude_from=igrt.start,
    )
    igm_trend = trend(timeline.labs_of("igm"), "igm", igm.limit or profile.igm_lln_mg_dl, as_of, profile)
    trends = [t for t in (igg_trend, igm_trend) if t is not None]
    cd19_dates = [
        lab.date
        for lab in timeline.labs_of("cd19-absolute") + timeline.labs_of("cd19-percent")
        if lab.date <= as_of
    ]
    return Facts(
        patient_id=timeline.patient.id,
        as_of=as_of,
        exposure=exposure,
        b_cells=b_cells(timeline, as_of, profile, exposure),
        igg=igg,
        igm=igm,
        iga=iga,
        igg_severe=igg_severe(igg, profile),
        last_panel=last_complete_panel(timeline, as_of, profile),
        episodes=tuple(episodes),
        igrt=igrt,
        prophylaxis=prophylaxis(timeline, as_of, profile, episodes),
        antibody_response=response,
        igm_deficiency=igm_deficiency(timeline, as_of, exposure, igg, igm, iga),
        autoimmune=tuple(autoimmune_conditions(timeline, as_of)),
        body=body,
        trends=tuple(trends),
        live_vaccines_given=tuple(live_vaccines_on_therapy(timeline, as_of, profile, exposure)),
        live_vaccines_recent=tuple(live_vaccines_before_first_dose(timeline, as_of, profile, exposure)),
        last_cd19=max(
            (lab.date for lab in timeline.labs_of("cd19-absolute") if lab.date <= as_of), default=None
        ),
        last_lymphocyte_subsets=max(cd19_dates, default=None),
        data_issues=tuple(issues),
    )


def _flag_future_records(timeline: Timeline, today: date, issues: list[DataIssue]) -> None:
    """``date-future``: dated after the real today; left out as after ``as_of``."""
    # Records are nearly never in the future: test the date before anything else.
    dated: list[tuple[str, date | None]] = [
        (lab.id, lab.date) for lab in timeline.labs if lab.date is not None and lab.date > today
    ]
    dated += [(r.id, r.date) for r in timeline.infections if r.date is not None and r.date > today]
    dated += [
        (v.id, v.date)
        for v in timeline.vaccinations
        if v.date is not None and v.date > today and not v.ordered
    ]
    dated += [
        (m.id, m.start)
        for m in timeline.medications
        if m.start is not None and m.start > today and not is_planned(m)
    ]
    for resource, when in dated:
        if when is not None:
            issues.append(
                DataIssue("warning", "date-future", f"dated {when.isoformat()}, after today", resource)
            )
