"""The command line as users run it: the real ``igwatch`` console script, in a subprocess.

Covers contract §2 (JSON output, formats, exit codes) and §3 (the commands built in cli.py):
``assess``, ``dose``, ``rules``, ``explain``. Every refusal exits 2 with exactly one line on
stderr and no stack trace. The renderers are also exercised directly on hand-built assessments
(escaping, no terminal codes), which needs no engine.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch.assessment import (
    Assessment,
    DoseBlock,
    IvigDose,
    MonitoringEntry,
    Reason,
    Recommendation,
    ScigDose,
    Titration,
)
from igwatch.facts import Episode, Facts, Immunoglobulin, derive_facts
from igwatch.knowledge.profile import load_profile
from igwatch.timeline import DataIssue, Patient, Timeline

BIN = Path(sys.executable).parent
IGWATCH = str(BIN / "igwatch") if (BIN / "igwatch").exists() else "/work/main/.venv/bin/igwatch"
VIGNETTES = Path("/work/shared/vignettes")
TODAY = "2026-10-15"


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


ENGINE_READY = _module_exists("igwatch.engine") and _module_exists("igwatch.fhir.ingest")
DOSING_READY = _module_exists("igwatch.dosing")
CATALOG_READY = (Path(__file__).parents[2] / "src/igwatch/knowledge/catalog.toml").exists()

needs_engine = pytest.mark.skipif(not ENGINE_READY, reason="engine not built yet")
needs_dosing = pytest.mark.skipif(not DOSING_READY, reason="dosing not built yet")
needs_catalog = pytest.mark.skipif(not CATALOG_READY, reason="catalog not written yet")

CONTRACT_KEYS = {
    "patient_id",
    "as_of",
    "profile",
    "applicable",
    "applicable_reason",
    "populations",
    "facts",
    "recommendations",
    "monitoring",
    "dosing",
    "data_issues",
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("IGWATCH_DEBUG", "FORCE_COLOR")}
    environment["IGWATCH_TODAY"] = TODAY
    environment.update(env or {})
    return subprocess.run(
        [IGWATCH, *args], capture_output=True, text=True, encoding="utf-8", env=environment, timeout=120
    )


def squash(text: str) -> str:
    """Whitespace-insensitive form: wrapped terminal text compares with one-line strings."""
    return " ".join(text.split())


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, exactly one line on stderr (starting "igwatch:"), no trace, nothing on stdout."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("igwatch: "), lines[0]
    assert result.stdout == ""
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def vignettes() -> list[dict[str, Any]]:
    if not VIGNETTES.is_dir():
        return []
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(VIGNETTES.glob("*.json"))]
    return [case for case in cases if "bundle" in case]


VIGNETTE_CASES = vignettes()
VIGNETTE_IDS = [case["name"] for case in VIGNETTE_CASES]


def write_bundle(tmp_path: Path, bundle: dict[str, Any], name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return path


def case_args(case: dict[str, Any], path: Path) -> list[str]:
    args = ["assess", str(path), "--as-of", case["as_of"]]
    if case.get("profile") and case["profile"] != "default":
        args += ["--profile", case["profile"]]
    return args


def vignette(name_prefix: str) -> dict[str, Any]:
    for case in VIGNETTE_CASES:
        if case["name"].startswith(name_prefix):
            return case
    pytest.skip(f"vignette {name_prefix} not available")


def patient_bundle(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "gender": "female",
        "birthDate": "1984-05-12",
    }


# --------------------------------------------------------------------------------------------
# assess on the shared vignettes
# --------------------------------------------------------------------------------------------


@needs_engine
@pytest.mark.skipif(not VIGNETTE_CASES, reason="no shared vignettes")
@pytest.mark.parametrize("case", VIGNETTE_CASES, ids=VIGNETTE_IDS)
def test_assess_json_has_every_contract_key(case: dict[str, Any], tmp_path: Path) -> None:
    path = write_bundle(tmp_path, case["bundle"])
    result = run(*case_args(case, path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert set(data) >= CONTRACT_KEYS
    assert data["as_of"] == case["as_of"]
    assert data["populations"] == sorted(data["populations"])
    for rec in data["recommendations"]:
        assert {"id", "priority", "summary", "detail", "reasons", "statements", "actions"} <= set(rec)
    # The JSON is exactly Assessment.to_dict(), pretty-printed with non-ASCII kept.
    assert result.stdout == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@needs_engine
@pytest.mark.skipif(not VIGNETTE_CASES, reason="no shared vignettes")
@pytest.mark.parametrize("case", VIGNETTE_CASES, ids=VIGNETTE_IDS)
def test_assess_text_has_bottom_line_and_summaries(case: dict[str, Any], tmp_path: Path) -> None:
    path = write_bundle(tmp_path, case["bundle"])
    data = json.loads(run(*case_args(case, path), "--format", "json").stdout)
    result = run(*case_args(case, path))  # text is the default
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout  # piped: plain text
    text = squash(result.stdout)
    assert squash(data["patient_id"]) in text
    assert data["as_of"] in text
    if data.get("bottom_line"):
        assert squash(data["bottom_line"]) in text
    if not data["applicable"]:
        assert "not applicable" in text.lower()
    for rec in data["recommendations"]:
        assert squash(rec["summary"]) in text, rec["id"]
        assert rec["id"] in text
    for entry in data["monitoring"]:
        assert entry["due"] in text
        if entry["overdue"]:
            assert "OVERDUE" in text
    for issue in data["data_issues"]:
        assert issue["code"] in text
    if data["dosing"] and data["dosing"]["ivig"]["dose_g"] is not None:
        assert f"{data['dosing']['ivig']['dose_g']} g every" in text
    assert all(len(line) <= 100 for line in result.stdout.splitlines())


@needs_engine
def test_assess_text_shows_dose_block_of_p02(tmp_path: Path) -> None:
    case = vignette("p02")
    result = run(*case_args(case, write_bundle(tmp_path, case["bundle"])))
    assert result.returncode == 0, result.stderr
    text = squash(result.stdout)
    assert "35 g every 4 weeks" in text
    assert "32.8 g" in text
    assert "8 g weekly" in text
    assert "600–800 mg/dL" in text


@needs_engine
def test_assess_html_escapes_record_strings(tmp_path: Path) -> None:
    case = vignette("p02")
    evil_id = "<script>alert(1)</script>"
    bundle = copy.deepcopy(case["bundle"])
    # The id holds a "/", so references reach the Patient through its urn:uuid fullUrl.
    urn = "urn:uuid:5b0c7a52-8a7e-4a55-9c55-0d7f9b1e2a10"
    patient_entry = bundle["entry"][0]
    assert patient_entry["resource"]["resourceType"] == "Patient"
    patient_entry["resource"]["id"] = evil_id
    patient_entry["fullUrl"] = urn
    for entry in bundle["entry"][1:]:
        for field in ("subject", "patient"):
            if isinstance(entry["resource"].get(field), dict):
                entry["resource"][field] = {"reference": urn}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Condition":
            resource.setdefault("code", {})["text"] = "<script>alert(2)</script> pneumonia"
            break
    path = write_bundle(tmp_path, bundle)
    result = run(*case_args(case, path), "--format", "html")
    assert result.returncode == 0, result.stderr
    html = result.stdout
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "@media print" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # nothing external
    for section in ("Recommendations", "Monitoring", "Dosing", "Data issues", "Statements cited"):
        assert section in html
    # The text form prints the same id literally.
    text = run(*case_args(case, path))
    assert text.returncode == 0, text.stderr
    assert evil_id in text.stdout


@needs_engine
def test_assess_html_cites_statements_verbatim(tmp_path: Path) -> None:
    from igwatch.knowledge.catalog import knowledge

    case = vignette("p02")
    result = run(*case_args(case, write_bundle(tmp_path, case["bundle"])), "--format", "html")
    assert result.returncode == 0, result.stderr
    k8 = knowledge().statements["K-8"]
    html = result.stdout
    assert 'id="statement-K-8"' in html
    first_line = k8.text.splitlines()[0]
    assert first_line in html
    assert knowledge().documents["K"].title in html


@needs_engine
def test_assess_not_applicable_says_so(tmp_path: Path) -> None:
    case = vignette("p10")
    result = run(*case_args(case, write_bundle(tmp_path, case["bundle"])))
    assert result.returncode == 0, result.stderr
    assert "Not applicable" in result.stdout
    assert "Recommendations" not in result.stdout


@needs_engine
def test_assess_as_of_defaults_to_igwatch_today(tmp_path: Path) -> None:
    case = vignette("p01")
    path = write_bundle(tmp_path, case["bundle"])
    result = run("assess", str(path), "--format", "json", env={"IGWATCH_TODAY": "2026-11-02"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] == "2026-11-02"


@needs_engine
def test_assess_patient_option_picks_one_of_several(tmp_path: Path) -> None:
    case = vignette("p01")
    bundle = copy.deepcopy(case["bundle"])
    bundle["entry"].append({"resource": patient_bundle("other-patient")})
    path = write_bundle(tmp_path, bundle)
    assert_refused(run(*case_args(case, path)))
    wanted = case["bundle"]["entry"][0]["resource"]["id"]
    result = run(*case_args(case, path), "--patient", wanted, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["patient_id"] == wanted
    assert_refused(run(*case_args(case, path), "--patient", "nobody"), "nobody")


# --------------------------------------------------------------------------------------------
# Refusals: exit 2, one line on stderr
# --------------------------------------------------------------------------------------------


def test_missing_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert_refused(run("assess", str(missing)), str(missing))


def test_directory_is_refused(tmp_path: Path) -> None:
    assert_refused(run("assess", str(tmp_path)), str(tmp_path))


@pytest.mark.parametrize("value", ["2026-02-30", "tomorrow", "20260215", "2026-2-3", ""])
def test_bad_as_of_is_refused(value: str, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}", encoding="utf-8")
    line = assert_refused(run("assess", str(path), "--as-of", value), "--as-of")
    assert "not a valid date (YYYY-MM-DD)" in line


def test_bad_as_of_message_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}", encoding="utf-8")
    line = assert_refused(run("assess", str(path), "--as-of", "2026-02-30"))
    assert line == "igwatch: --as-of '2026-02-30': not a valid date (YYYY-MM-DD)"


def test_bad_igwatch_today_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}", encoding="utf-8")
    assert_refused(run("assess", str(path), env={"IGWATCH_TODAY": "31/12/2026"}), "IGWATCH_TODAY")


def test_unknown_profile_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}", encoding="utf-8")
    assert_refused(run("assess", str(path), "--profile", "no-such-profile"), "no-such-profile")


def test_invalid_profile_file_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.json"
    bundle.write_text("{}", encoding="utf-8")
    profile = tmp_path / "site.toml"
    profile.write_text('name = "site"\n[igm_lln_mg_dl]\nvalue = -5\nfrom = "test"\n', encoding="utf-8")
    assert_refused(run("assess", str(bundle), "--profile", str(profile)), "igm_lln_mg_dl", str(profile))
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed\n", encoding="utf-8")
    assert_refused(run("assess", str(bundle), "--profile", str(broken)), str(broken))
    assert_refused(run("assess", str(bundle), "--profile", str(tmp_path / "absent.toml")), "absent.toml")


@needs_engine
@pytest.mark.parametrize(
    "content",
    [
        "this is not JSON at all\n",
        '{"foo": 1}',
        "[1, 2, 3]",
        '{"resourceType": "Bundle", "type": "collection", "entry": []}',
        '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
        '{"resourceType": "Observation", "id": "o1", "status": "final"}}]}',
    ],
    ids=["not-json", "no-resource-type", "json-array", "empty-bundle", "no-patient"],
)
def test_not_fhir_or_no_patient_is_refused(content: str, tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(content, encoding="utf-8")
    assert_refused(run("assess", str(path)))


@needs_engine
def test_several_patients_without_patient_option_is_refused(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient_bundle("a")}, {"resource": patient_bundle("b")}],
    }
    assert_refused(run("assess", str(write_bundle(tmp_path, bundle))))


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}", encoding="utf-8")
    result = run("assess", str(path), "--format", "xml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_no_arguments_shows_help() -> None:
    result = run()
    assert result.returncode in (0, 2)
    assert "assess" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_version() -> None:
    from igwatch import __version__

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"igwatch {__version__}"


# --------------------------------------------------------------------------------------------
# Anything else: exit 1, one line (the trace only with IGWATCH_DEBUG=1)
# --------------------------------------------------------------------------------------------


@needs_dosing
def test_unexpected_error_exits_1_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import igwatch.dosing
    from igwatch import cli

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(igwatch.dosing, "dose_block", broken)
    monkeypatch.delenv("IGWATCH_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["dose", "--weight-kg", "70"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("igwatch: ") and "boom" in err

    monkeypatch.setenv("IGWATCH_DEBUG", "1")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["dose", "--weight-kg", "70"])
    assert exit_info.value.code == 1
    assert "Traceback" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# dose
# --------------------------------------------------------------------------------------------


@needs_dosing
def test_dose_json_for_82_kg() -> None:
    result = run("dose", "--weight-kg", "82", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ivig"]["dose_g_exact"] == pytest.approx(32.8)
    assert data["ivig"]["dose_g"] == 35
    assert data["scig"]["weekly_g"] == 8
    assert data["weight_basis"] == "actual"
    assert data["trough_target_mg_dl"] == [600, 800]


@needs_dosing
def test_dose_text_for_82_kg() -> None:
    result = run("dose", "--weight-kg", "82")
    assert result.returncode == 0, result.stderr
    text = squash(result.stdout)
    assert "35 g every 4 weeks" in text
    assert "32.8 g" in text
    assert "8 g weekly" in text
    assert "16 g every 2 weeks" in text
    assert "600–800 mg/dL" in text


@needs_dosing
def test_dose_profile_changes_trough_target() -> None:
    result = run("dose", "--weight-kg", "70", "--profile", "trough-500-700", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["trough_target_mg_dl"] == [500, 700]


@needs_dosing
def test_dose_adjusted_weight_with_height_and_sex() -> None:
    result = run(
        "dose", "--weight-kg", "120", "--height-cm", "170", "--sex", "male", "--profile", "stewardship",
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["weight_basis"] == "adjusted"


@pytest.mark.parametrize("weight", ["-5", "0", "nan"])
def test_dose_bad_weight_is_refused(weight: str) -> None:
    assert_refused(run("dose", "--weight-kg", weight), "--weight-kg")


def test_dose_bad_profile_is_refused() -> None:
    assert_refused(run("dose", "--weight-kg", "70", "--profile", "nope"), "nope")


# --------------------------------------------------------------------------------------------
# rules and explain
# --------------------------------------------------------------------------------------------


@needs_catalog
def test_rules_json_lists_the_catalog() -> None:
    from igwatch.knowledge.catalog import knowledge

    result = run("rules", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ids = [entry["id"] for entry in data["recommendations"]]
    assert ids == list(knowledge().catalog)
    first = data["recommendations"][0]
    assert {"id", "population", "priority_rule", "statements", "fires_when"} <= set(first)


@needs_catalog
def test_rules_text_lists_every_id() -> None:
    from igwatch.knowledge.catalog import knowledge

    result = run("rules")
    assert result.returncode == 0, result.stderr
    for rid in knowledge().catalog:
        assert rid in result.stdout


@needs_catalog
def test_explain_prints_statement_text_and_parameters() -> None:
    from igwatch.knowledge.catalog import knowledge
    from igwatch.knowledge.profile import load_profile

    result = run("explain", "igrt.start")
    assert result.returncode == 0, result.stderr
    text = squash(result.stdout)
    kb = knowledge()
    for line in kb.statements["K-8"].text.splitlines():
        assert squash(line.removeprefix("- ")) in text
    assert kb.documents["K"].title in text
    assert squash(kb.statements["K-8"].section) in text
    assert "citations 3, 1" in text
    entry = kb.catalog["igrt.start"]
    assert squash(entry.title) in text
    profile = load_profile()
    for key in entry.parameters:
        assert key in text
        assert squash(profile.provenance[key]) in text
    assert "igg_replacement_threshold_mg_dl = 400" in text


@needs_catalog
def test_explain_statement_id() -> None:
    result = run("explain", "K-8")
    assert result.returncode == 0, result.stderr
    assert "igrt.start" in result.stdout


@needs_catalog
def test_explain_unknown_id_is_refused() -> None:
    assert_refused(run("explain", "nope"), "nope")


# --------------------------------------------------------------------------------------------
# Renderers on hand-built assessments (no engine needed)
# --------------------------------------------------------------------------------------------

EVIL = "<script>alert('x')</script>\x1b[31m[bold red]evil[/bold red]"


def hand_built_facts() -> Facts:
    """The facts of a patient with nothing recorded, then a low IgM and one severe infection
    whose name is hostile markup."""
    as_of = date(2026, 10, 15)
    empty = derive_facts(Timeline(Patient(EVIL, None, None)), as_of, load_profile())
    episode = Episode(
        id="Condition/evil",
        records=("Condition/evil",),
        display=EVIL,
        onset=date(2026, 2, 3),
        abatement=None,
        bacterial=False,
        documented_bacterial=False,
        encapsulated=False,
        organisms=(),
        severe=True,
        life_threatening=False,
        opportunistic=False,
        antibiotic_refractory=False,
        active=False,
        inpatient=False,
    )
    igm = Immunoglobulin("igm", "low", 20.0, None, date(2026, 9, 30), 34.0)
    return dataclasses.replace(empty, igm=igm, episodes=(episode,))


def hand_built(applicable: bool = True) -> Assessment:
    return Assessment(
        patient_id=EVIL,
        as_of=date(2026, 10, 15),
        profile="default",
        applicable=applicable,
        applicable_reason=None if applicable else f"neither population {EVIL}",
        populations=["K"] if applicable else [],
        facts=hand_built_facts(),
        recommendations=[
            Recommendation(
                id="igrt.start",
                priority="critical",
                summary="Start immunoglobulin replacement now",
                detail=f"Background with <b>html</b> and ![img](http://example.org/x.png)\n\n**Why:**\n- {EVIL}",
                reasons=[Reason("encapsulated-recurrent", EVIL)],
                statements=["K-8", "K-1"],
                actions=[{"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": EVIL}}],
                title="Immunoglobulin replacement criteria met",
            ),
            Recommendation(
                id="monitor.ig-due",
                priority="info",
                summary="Next complete immunoglobulin panel",
                detail="",
                reasons=[],
                statements=["K-2"],
            ),
        ]
        if applicable
        else [],
        monitoring=[
            MonitoringEntry("ig-panel", date(2026, 9, 1), True, date(2026, 3, 1)),
            MonitoringEntry("igg-trough", date(2026, 11, 14), False, None),
        ]
        if applicable
        else [],
        dosing=DoseBlock(
            weight_kg=82.0,
            weight_basis="actual",
            ivig=IvigDose(0.4, 32.8, 35, 4, 3),
            scig=ScigDose(1.0, 8, 16),
            trough_target_mg_dl=(600.0, 800.0),
            titration=Titration(40, 3),
        )
        if applicable
        else None,
        data_issues=[DataIssue("error", "unit-missing", EVIL, f"Observation/{EVIL}")],
        bottom_line="CRITICAL: Start immunoglobulin replacement now" if applicable else "",
    )


def test_html_render_escapes_everything() -> None:
    from igwatch.render.html import assessment_html

    for applicable in (True, False):
        html = assessment_html(hand_built(applicable))
        assert "<script" not in html.lower()
        assert "<b>html" not in html
        assert "<img" not in html
        assert "\x1b" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert "@media print" in html


def test_html_render_sections_and_footnotes() -> None:
    from igwatch.render.html import assessment_html

    html = assessment_html(hand_built())
    assert html.index("Bottom line") < html.index("Recommendations") < html.index("Monitoring")
    assert html.index("Monitoring") < html.index("Dosing") < html.index("Data issues")
    assert html.index("Data issues") < html.index("Statements cited")
    assert "CRITICAL" in html
    assert "OVERDUE" in html
    assert "35 g every 4 weeks" in html
    if CATALOG_READY:
        assert 'id="statement-K-8"' in html and 'href="#statement-K-8"' in html
    # The reasons are listed once, not again inside the detail.
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\x1b") == 0


def test_text_render_is_plain_and_literal() -> None:
    from igwatch.render.text import assessment_text

    text = assessment_text(hand_built())
    assert "\x1b" not in text
    assert "[bold red]evil[/bold red]" in text  # markup is not interpreted
    squashed = squash(text)
    assert squashed.index("Bottom line") < squashed.index("Recommendations") < squashed.index("Monitoring")
    assert squashed.index("Monitoring") < squashed.index("Dosing") < squashed.index("Data issues")
    assert "[CRITICAL]" in text
    assert "OVERDUE" in text
    assert "35 g every 4 weeks" in squashed
    assert "0.4 g/kg × 82 kg = 32.8 g, rounded to 35 g" in squashed
    assert "8 g weekly, or 16 g every 2 weeks" in squashed
    assert "raise the dose to 40 g" in squashed.lower()
    assert "every 3 weeks" in squashed
    assert "unit-missing" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert all(line == line.rstrip() for line in text.splitlines())


def test_text_render_not_applicable() -> None:
    from igwatch.render.text import assessment_text

    text = squash(assessment_text(hand_built(applicable=False)))
    assert "Not applicable: neither population" in text
    assert "unit-missing" in text
    assert "Recommendations" not in text


def test_text_render_color_only_when_asked() -> None:
    from igwatch.render.text import assessment_text

    assert "\x1b[" in assessment_text(hand_built(), color=True)


def test_a_malformed_igwatch_today_is_refused_by_every_command(tmp_path: Path) -> None:
    """One clock for every door: `serve` used to ignore a bad IGWATCH_TODAY that `assess` refused."""
    import subprocess

    env = {**os.environ, "IGWATCH_TODAY": "2026-13-01"}
    example = Path(__file__).parents[2] / "examples" / "ofatumumab-recurrent-hib.json"
    for args in (["assess", str(example)], ["serve", "--insecure-dev-no-auth", "--port", "0"]):
        done = subprocess.run([IGWATCH, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert "IGWATCH_TODAY '2026-13-01': not a valid date" in done.stderr
        assert "Traceback" not in done.stderr


def test_an_as_of_before_1900_is_refused() -> None:
    from igwatch.clock import parse_date
    from igwatch.errors import InputRefused

    with pytest.raises(InputRefused, match="outside 1900-01-01"):
        parse_date("0001-01-01", "--as-of")
    assert parse_date("1900-01-01", "--as-of").year == 1900
