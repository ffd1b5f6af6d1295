"""Runs the official SQL on FHIR v2 test suite (vendored in ./suite) on DuckDB or Spark.

Rows are compared as the suite prescribes: order-insensitive, each row by column name, numbers by
value; ``expectError`` passes when loading or running the view raises. The report has the
suite's ``test_report.json`` shape: ``{file: {"tests": [{"name", "result": {"passed", "reason"?}}]}}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITE_DIR = Path(__file__).parent / "suite"
REPORTS_DIR = Path(__file__).parent / "reports"

# Tests of features the engine does not implement: reported as not passed, marked xfail.
UNSUPPORTED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Case:
    file: str
    title: str
    view: Any
    expect: list[dict[str, Any]] | None
    expect_count: int | None
    expect_error: bool
    resources: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.json')}::{self.title}"


def load_suite() -> dict[str, list[Case]]:
    suite: dict[str, list[Case]] = {}
    for path in sorted(SUITE_DIR.glob("*.json")):
        if path.name == "tests.schema.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        suite[path.name] = [
            Case(
                file=path.name,
                title=t["title"],
                view=t["view"],
                expect=t.get("expect"),
                expect_count=t.get("expectCount"),
                expect_error=bool(t.get("expectError")),
                resources=data["resources"],
            )
            for t in data["tests"]
        ]
    return suite


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if math.isfinite(number) and number == round(number):
            return int(number)
        return round(number, 9)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return str(value)


def compare(case: Case, rows: list[dict[str, Any]], columns: list[str]) -> tuple[bool, str | None]:
    if case.expect_count is not None:
        ok = len(rows) == case.expect_count
        return ok, None if ok else f"expected {case.expect_count} rows, got {len(rows)}"
    assert case.expect is not None
    if case.expect and set(case.expect[0]) != set(columns):
        return False, f"columns {columns} differ from expected {list(case.expect[0])}"
    got = sorted(json.dumps(_canonical(r), sort_keys=True) for r in rows)
    want = sorted(json.dumps(_canonical(r), sort_keys=True) for r in case.expect)
    if got == want:
        return True, None
    return False, f"rows differ: got {got}, expected {want}"


Executor = Callable[[Case], tuple[list[dict[str, Any]], list[str]]]


def evaluate(case: Case, execute: Executor) -> tuple[bool, str | None]:
    """Run one case with ``execute`` (view → rows, column names) and judge it."""
    try:
        rows, columns = execute(case)
    except Exception as exc:
        if case.expect_error:
            return True, None
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    if case.expect_error:
        return False, "expected an error, got rows"
    return compare(case, rows, columns)


def write_report(results: dict[str, list[tuple[str, bool, str | None]]], path: Path) -> int:
    """Write test_report.json; returns the number of passed tests."""
    report: dict[str, Any] = {}
    passed = 0
    for file, tests in sorted(results.items()):
        entries = []
        for title, ok, reason in tests:
            result: dict[str, Any] = {"passed": ok}
            if reason and not ok:
                result["reason"] = reason
            entries.append({"name": title, "result": result})
            passed += ok
        report[file] = {"tests": entries}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return passed
