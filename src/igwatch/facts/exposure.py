"""F1 B-cell-depleting exposure (clinical-spec §4): per agent, then for the patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.base import STATUS_RANK, ExposureStatus
from igwatch.facts.courses import Course, classify_course
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, MedicationRecord, Timeline


@dataclass(frozen=True)
class AgentExposure:
    agent: str
    course: Course


@dataclass(frozen=True)
class AntiCD20Exposure:
    """F1 for the patient: the most active status over the agents."""

    status: ExposureStatus
    agents: tuple[AgentExposure, ...]
    primary_agent: str | None
    first_exposure: date | None
    stop: date | None
    stop_unknown: bool

    @property
    def exposed(self) -> bool:
        """On therapy now or in the past (not merely planned)."""
        return any(a.course.status in ("current", "discontinued") for a in self.agents)

    @property
    def current_agents(self) -> tuple[str, ...]:
        return tuple(a.agent for a in self.agents if a.course.status == "current")

    @property
    def named_agents(self) -> str:
        """The agents a text names: those current, else the latest one, else a generic name."""
        if 0 < len(self.current_agents) <= 2:
            return " and ".join(self.current_agents)
        if self.current_agents:
            return "the current B-cell-depleting agents"  # three or more: a summary stays one line
        return self.primary_agent or "the B-cell-depleting agent"

    @property
    def planned_starts(self) -> tuple[date, ...]:
        """The planned first dose of each agent that is only starting."""
        return tuple(
            a.course.planned_start
            for a in self.agents
            if a.course.status == "starting" and a.course.planned_start is not None
        )

    @property
    def first_doses(self) -> tuple[date, ...]:
        """Each agent's first dose, given (its start) or planned: live-vaccine-recent looks before each."""
        given = tuple(
            a.course.start
            for a in self.agents
            if a.course.status in ("current", "discontinued") and a.course.start is not None
        )
        return given + self.planned_starts


def anti_cd20_exposure(
    timeline: Timeline, as_of: date, profile: Profile, issues: list[DataIssue]
) -> AntiCD20Exposure:
    by_agent: dict[str, list[MedicationRecord]] = {}
    for record in timeline.medications:
        if record.category == "anti-cd20":
            by_agent.setdefault(record.agent, []).append(record)
    agents: list[AgentExposure] = []
    for agent in sorted(by_agent):
        interval_days = profile.anti_cd20_interval_for(agent) * 7
        course = classify_course(
            by_agent[agent],
            as_of,
            lambda _record, days=interval_days: days,  # type: ignore[misc]
            profile.anti_cd20_grace_weeks * 7,
            issues,
            agent,
        )
        if course.status != "none":
            agents.append(AgentExposure(agent, course))
    status: ExposureStatus = "none"
    primary: str | None = None
    for exposure in agents:
        if STATUS_RANK[exposure.course.status] > STATUS_RANK[status]:
            status, primary = exposure.course.status, exposure.agent
    exposed = [a.course for a in agents if a.course.status in ("current", "discontinued")]
    starts = [c.start for c in exposed if c.start is not None]
    first = min(starts) if starts else None
    stopped = [a.course for a in agents if a.course.status == "discontinued"]
    stop_unknown = any(c.stop_unknown for c in stopped)
    stop = None if stop_unknown or not stopped else max(c.stop for c in stopped if c.stop is not None)
    # The stop date matters whenever no agent is current: after stopping, and while switching to
    # another agent that has not started yet (revision 2, F2).
    after_stopping = bool(stopped) and status != "current"
    return AntiCD20Exposure(
        status=status,
        agents=tuple(agents),
        primary_agent=primary,
        first_exposure=first,
        stop=stop if after_stopping else None,
        stop_unknown=stop_unknown if after_stopping else False,
    )
