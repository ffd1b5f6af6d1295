"""The web app in a real browser (Debian chromium via Playwright) against the real server.

Screenshots of every page at 1280 px and at tablet width (768 px) go to tests/web/artifacts/.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from igwatch.dosing import dose_block
from igwatch.knowledge.profile import load_profile
from igwatch.render.words import one_line
from igwatch.web.demo import DEMO_AS_OF
from tests.web import expected
from tests.web.conftest import XSS_ID, XSS_NAME, WebServer

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WIDTHS = {"desktop": 1280, "tablet": 768}


def shoot(tab: Any, artifacts: Path, name: str) -> None:
    """Full-page screenshots at desktop and tablet width; the page must not scroll sideways."""
    for label, width in WIDTHS.items():
        tab.set_viewport_size({"width": width, "height": 900})
        tab.wait_for_timeout(50)
        tab.screenshot(path=str(artifacts / f"{name}-{label}.png"), full_page=True)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways at {width} px"
    tab.set_viewport_size({"width": 1280, "height": 900})


def test_worklist_filter_and_patient_page(page: Any, web_server: WebServer, artifacts: Path) -> None:
    results = expected.all_assessments(DEMO_AS_OF)
    page.goto(web_server.base_url + "/")
    assert page.locator("table.worklist tbody tr[data-patient-id]").count() == len(results)
    shoot(page, artifacts, "worklist")

    # Filter to overdue panel or trough: htmx swaps the table without a reload.
    with page.expect_response(lambda r: "overdue=1" in r.url):
        page.get_by_label("Overdue panel or trough").check()
    page.wait_for_function("() => location.search.includes('overdue=1')")
    overdue = {pid for pid, r in results.items() if expected.overdue(r)}
    shown = set(
        page.locator("table.worklist tbody tr[data-patient-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.patientId)"
        )
    )
    assert shown == overdue
    assert all(cell == "yes" for cell in page.locator("td[data-flag='overdue']").all_inner_texts())
    shoot(page, artifacts, "worklist-overdue")

    # Open the first overdue patient.
    link = page.locator("a.patient-link").first
    patient_id = page.locator("table.worklist tbody tr[data-patient-id]").first.get_attribute(
        "data-patient-id"
    )
    link.click()
    page.wait_for_selector("#ig-chart[data-rendered='true']")
    check_patient_page(page, patient_id, DEMO_AS_OF)
    shoot(page, artifacts, "patient")
    assert not page.errors, page.errors


def check_patient_page(page: Any, patient_id: str, as_of: date) -> None:
    result = expected.assessment(patient_id, as_of)
    assert page.locator("#as-of").inner_text() == as_of.isoformat()
    assert page.locator("#bottom-line .line").inner_text() == one_line(result["bottom_line"])
    cards = page.locator("article.card")
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.recId)") == [
        r["id"] for r in result["recommendations"]
    ]
    for index, rec in enumerate(result["recommendations"]):
        reasons = cards.nth(index).locator("ul.reasons li").all_inner_texts()
        assert reasons == [one_line(r["text"]) or r["code"] for r in rec["reasons"]]
        links = (
            cards.nth(index)
            .locator("ul.statements a")
            .evaluate_all("as => as.map(a => a.getAttribute('href'))")
        )
        assert links == [f"/knowledge/statements/{s}" for s in rec["statements"]]
    # The chart: its data, and what Chart.js drew from it.
    chart = json.loads(page.locator("#chart-data").text_content())
    for kind in ("igg", "igm", "iga"):
        assert [(p["date"], p["value"]) for p in chart["series"][kind]] == expected.lab_values(
            patient_id, kind, as_of
        )
    episodes = result["facts"]["infection_episodes"]
    assert [(i["date"], i["encapsulated"]) for i in chart["infections"]] == [
        (e["onset"], e["encapsulated"]) for e in episodes if e["onset"]
    ]
    drawn = page.evaluate(
        "() => window.igwatchChart.data.datasets.map(d => ({label: d.label, kind: d.igKind || null,"
        " severity: d.infectionSeverity || null, n: d.data.length}))"
    )
    for kind, label in (("igg", "IgG"), ("igm", "IgM"), ("iga", "IgA")):
        series = [d for d in drawn if d["kind"] == kind]
        assert series and series[0]["label"] == label and series[0]["n"] == len(chart["series"][kind])
    severities = {d["severity"]: d["n"] for d in drawn if d["severity"]}
    for severity in ("life-threatening", "severe", "other"):
        assert severities.get(severity, 0) == sum(1 for i in chart["infections"] if i["severity"] == severity)
    box = page.locator("#ig-chart").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200


def test_as_of_picker_changes_the_assessment(page: Any, web_server: WebServer, artifacts: Path) -> None:
    patient_id = "example-ofatumumab-hib"
    page.goto(f"{web_server.base_url}/patients/{patient_id}")
    page.wait_for_selector("#ig-chart[data-rendered='true']")
    before = page.locator("article.card").evaluate_all("cs => cs.map(c => c.dataset.recId)")
    earlier = date(2026, 3, 1)
    page.fill("#as-of-input", earlier.isoformat())
    page.click("#as-of-submit")
    page.wait_for_url(re.compile(r"as_of=2026-03-01"))
    page.wait_for_selector("#ig-chart[data-rendered='true']")
    check_patient_page(page, patient_id, earlier)
    after = page.locator("article.card").evaluate_all("cs => cs.map(c => c.dataset.recId)")
    assert after != before

    # Dose calculator: an htmx call to /dose with the chosen profile.
    page.fill("input[name=weight_kg]", "120")
    page.fill("input[name=height_cm]", "165")
    page.select_option("#dose-form select[name=sex]", "female")
    page.select_option("#dose-form select[name=profile]", "stewardship")
    page.click("#dose-form button[type=submit]")
    page.wait_for_selector("#dose-result .dose-result")
    shown = json.loads(page.locator("#dose-result .dose-result").get_attribute("data-dose"))
    block, _ = dose_block(120, 165, "female", load_profile("stewardship"))
    assert shown == block.to_dict()
    assert f"{block.ivig.dose_g} g" in page.locator("#dose-result").inner_text()
    assert page.url.endswith("as_of=2026-03-01") or "as_of=2026-03-01" in page.url  # no navigation

    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    (artifacts / "patient-print.pdf").write_bytes(pdf)


def test_printable_summary_and_leaflet(page: Any, web_server: WebServer, artifacts: Path) -> None:
    patient_id = "example-ofatumumab-hib"
    result = expected.assessment(patient_id, DEMO_AS_OF)
    page.goto(f"{web_server.base_url}/patients/{patient_id}")
    page.click("text=Printable summary")
    page.wait_for_url(re.compile(r"/summary"))
    assert one_line(result["bottom_line"]) in page.inner_text("body")
    shoot(page, artifacts, "summary")
    response = page.request.get(f"{web_server.base_url}/patients/{patient_id}/summary.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    body = response.body()
    (artifacts / "summary.pdf").write_bytes(body)
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(body)).pages).split())
    assert " ".join(one_line(result["bottom_line"]).split()[:6]) in text
    page.goto(f"{web_server.base_url}/patients/{patient_id}/leaflet")
    assert "K-16" in page.inner_text("footer")
    shoot(page, artifacts, "leaflet")
    assert not page.errors, page.errors


def test_knowledge_pages(page: Any, web_server: WebServer, artifacts: Path) -> None:
    page.goto(web_server.base_url + "/knowledge")
    shoot(page, artifacts, "knowledge")
    page.click("a[href='/knowledge/recommendations/igrt.start']")
    page.wait_for_url(re.compile("igrt.start"))
    assert page.locator("tr[data-key='igg_replacement_threshold_mg_dl'] td.value").inner_text() == "400"
    shoot(page, artifacts, "knowledge-recommendation")
    page.click("a[href='/knowledge/statements/K-8']")
    assert "Consider IVIG or SCIG" in page.inner_text("#statement-text")
    shoot(page, artifacts, "knowledge-statement")
    page.click("#document-link")
    page.wait_for_url(re.compile(r"/knowledge/documents/K#K-8"))
    assert page.locator("#K-8").is_visible()
    shoot(page, artifacts, "knowledge-document")
    page.goto(web_server.base_url + "/dose?weight_kg=82")
    shoot(page, artifacts, "dose")
    assert not page.errors, page.errors


def test_xss_patient_renders_as_text(page: Any, web_server: WebServer, artifacts: Path) -> None:
    page.goto(f"{web_server.base_url}/?q=pat-xss")
    assert page.locator(f"tr[data-patient-id='{XSS_ID}'] a.patient-link").inner_text() == XSS_NAME
    page.goto(f"{web_server.base_url}/patients/{XSS_ID}")
    page.wait_for_selector("#ig-chart[data-rendered='true']")
    assert page.locator("#patient-name").inner_text() == XSS_NAME
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []
    shoot(page, artifacts, "patient-xss")


def test_refused_upload_leaves_the_store_unchanged(page: Any, web_server: WebServer, tmp_path: Path) -> None:
    page.goto(web_server.base_url + "/?all=1")
    before = page.locator("table.worklist tbody tr[data-patient-id]").count()
    bad = tmp_path / "broken.json"
    bad.write_text('{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"')
    page.set_input_files("input[type=file]", str(bad))
    with page.expect_response(lambda r: r.url.endswith("/upload")) as info:
        page.click(".upload button[type=submit]")
    assert info.value.status == 422
    assert "broken.json" in page.locator("#upload-error").inner_text()
    page.goto(web_server.base_url + "/?all=1")
    assert page.locator("table.worklist tbody tr[data-patient-id]").count() == before
