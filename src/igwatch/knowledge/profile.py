"""Profiles: every threshold the rules use, as data (clinical-spec §8).

A profile is a TOML file. Each key is either a table ``{value = …, from = "…"}`` naming where the
value comes from, or a plain value (handy in a site profile). ``extends = "NAME"`` starts from a
shipped profile (a site profile without ``extends`` starts from ``default``), so a site file
only lists what it changes. The merged result is validated: an unknown key, a wrong type or an
impossible range is refused with a message naming the file and the key.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from igwatch.errors import ProfileError

PROFILES_DIR = Path(__file__).parent / "profiles"

PositiveInt = Field(gt=0)
PositiveFloat = Field(gt=0)


class Profile(BaseModel):
    """The validated thresholds. Field names are the profile keys of clinical-spec §8."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    provenance: dict[str, str] = Field(default_factory=dict)

    igm_lln_mg_dl: float = PositiveFloat
    igg_lln_mg_dl: float = PositiveFloat
    iga_lln_mg_dl: float = PositiveFloat
    igg_replacement_threshold_mg_dl: float = PositiveFloat
    ig_result_max_age_months: int = PositiveInt
    ig_panel_interval_months: int = PositiveInt
    complete_panel_span_days: int = Field(ge=0)
    baseline_window_days: int = PositiveInt
    baseline_recent_days: int = PositiveInt
    igrt_monitor_interval_days: int = PositiveInt
    infection_window_months: int = PositiveInt
    episode_merge_days: int = Field(ge=0)
    recurrent_episodes: int = PositiveInt
    encapsulated_organisms: tuple[str, ...]
    active_infection_max_days: int = PositiveInt
    critical_recent_days: int = PositiveInt
    anti_cd20_interval_weeks: dict[str, float]
    anti_cd20_grace_weeks: float = Field(ge=0)
    igrt_grace_days: int = Field(ge=0)
    bcell_repletion_cd19_per_ul: float = PositiveFloat
    prophylaxis_min_days: int = PositiveInt
    prophylaxis_failure_episodes: int = PositiveInt
    pneumococcal_protective_ug_ml: float = PositiveFloat
    pneumococcal_protective_fraction: float = Field(gt=0, le=1)
    pneumococcal_response_window_days: tuple[int, int]
    passive_antibody_days: int = PositiveInt
    igrt_max_g_per_kg_per_4_weeks: float = PositiveFloat
    igrt_max_g_per_kg_per_4_weeks_sc: float = PositiveFloat
    trough_max_days_before_dose: int = Field(ge=0)
    live_vaccine_weeks_before_first_dose: int = PositiveInt
    igrt_effect_days: int = Field(ge=0)
    igrt_titration_max_g_per_kg: float = PositiveFloat
    trough_min_days_after_start: int = Field(ge=0)
    weight_max_age_days: int = PositiveInt
    ivig_g_per_kg: float = PositiveFloat
    ivig_interval_weeks: int = PositiveInt
    scig_conversion_factor: float = PositiveFloat
    dose_rounding_g: int = PositiveInt
    dose_rounding_max_pct: float = Field(ge=0)
    dose_step_g_per_kg: float = PositiveFloat
    dosing_weight: Literal["actual", "adjusted-if-obese"]
    trough_target_mg_dl: tuple[float, float]
    trend_min_results: int = Field(ge=2)
    trend_years: int = PositiveInt
    max_patient_view_cards: int = PositiveInt
    order_dose_tolerance_pct: float = Field(ge=0)

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> Profile:
        for key in ("pneumococcal_response_window_days", "trough_target_mg_dl"):
            low, high = getattr(self, key)
            if low > high:
                raise ValueError(f"{key}: the low end {low} is above the high end {high}")
        if "default" not in self.anti_cd20_interval_weeks:
            raise ValueError("anti_cd20_interval_weeks: needs a 'default' interval")
        return self

    def anti_cd20_interval_for(self, agent: str) -> float:
        """Dosing interval of an anti-CD20 agent in weeks (its own, else the default)."""
        return self.anti_cd20_interval_weeks.get(agent, self.anti_cd20_interval_weeks["default"])

    @property
    def trough_target_low(self) -> float:
        return self.trough_target_mg_dl[0]

    @property
    def trough_target_high(self) -> float:
        return self.trough_target_mg_dl[1]


def shipped_profiles() -> list[str]:
    """Names of the profiles that ship with igwatch."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ProfileError(f"profile {path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"profile {path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ProfileError(f"profile {path}: cannot be read ({error.strerror})") from None


def _flatten(raw: dict[str, Any], path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Split ``{key: {value, from}}`` tables into values and provenance."""
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for key, item in raw.items():
        if key in ("name", "description", "extends"):
            continue
        if isinstance(item, dict) and "value" in item:
            unknown = set(item) - {"value", "from"}
            if unknown:
                raise ProfileError(f"profile {path}: key '{key}': unexpected field(s) {sorted(unknown)}")
            values[key] = item["value"]
            provenance[key] = str(item.get("from", f"site profile {path.name}"))
        else:
            values[key] = item
            provenance[key] = f"site profile {path.name}"
    return values, provenance


def _collect(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, str], str, str]:
    if path in seen:
        raise ProfileError(f"profile {path}: 'extends' forms a cycle")
    raw = _read_toml(path)
    values, provenance = _flatten(raw, path)
    name = raw.get("name", path.stem)
    description = raw.get("description", "")
    parent = raw.get("extends")
    if parent is None and path != PROFILES_DIR / "default.toml":
        parent = "default"
    if parent is not None:
        if not isinstance(parent, str) or not (PROFILES_DIR / f"{parent}.toml").exists():
            raise ProfileError(
                f"profile {path}: key 'extends': {parent!r} is not a shipped profile "
                f"({', '.join(shipped_profiles())})"
            )
        base_values, base_provenance, _, _ = _collect(PROFILES_DIR / f"{parent}.toml", (*seen, path))
        values = {**base_values, **values}
        provenance = {**base_provenance, **provenance}
    return values, provenance, str(name), str(description)


def _validate(path: Path) -> Profile:
    values, provenance, name, description = _collect(path, ())
    try:
        return Profile(name=name, description=description, provenance=provenance, **values)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(profile)"
        raise ProfileError(f"profile {path}: key '{key}': {first['msg']}") from None


@cache
def _load_cached(path: Path) -> Profile:
    return _validate(path)


def load_profile(name_or_path: str | Path = "default") -> Profile:
    """Load a shipped profile by name, or a site profile file by path."""
    candidate = Path(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and not name_or_path.endswith(".toml"):
        shipped = PROFILES_DIR / f"{name_or_path}.toml"
        if not shipped.exists():
            raise ProfileError(
                f"profile '{name_or_path}': not a shipped profile ({', '.join(shipped_profiles())}) "
                "and not a path to a .toml file"
            )
        candidate = shipped
    return _load_cached(candidate.resolve())
