"""The web pages over HTTP against the real server: content, escaping, CSRF, upload, security."""

from __future__ import annotations

import csv
import io
import re
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from igwatch.dosing import dose_block
from igwatch.errors import IgwatchError
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import load_profile
from igwatch.render.words import one_line
from igwatch.web.auth import hash_password, load_users, verify_password
from igwatch.web.demo import DEMO_AS_OF, manifest, record_firable
from tests.support.servers import dev_settings, start_server
from tests.web import expected
from tests.web.conftest import DECEASED_ID, XSS_ID, WebServer

PATIENT = "example-ofatumumab-hib"


def get(server: WebServer, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(server.base_url + path, timeout=60, **kwargs)  # type: ignore[arg-type]


def csrf_and_cookies(server: WebServer) -> tuple[str, httpx.Cookies]:
    response = get(server, "/")
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match
    return match.group(1), response.cookies


def test_demo_covers_every_catalog_id_a_record_can_fire() -> None:
    data = manifest()
    wanted = {rec_id for rec_id, e in knowledge().catalog.items() if record_firable(e.fires_when)}
    assert wanted <= set(data["covers"]), "rebuild the demo: python -m tests.web.build_demo"
    assert len(data["patients"]) >= 24
    fired = set()
    for entry in data["patients"]:
        fired |= {r["id"] for r in expected.assessment(entry["patient_id"], DEMO_AS_OF)["recommendations"]}
    assert fired == set(data["covers"])


def test_security_headers_on_every_page(web_server: WebServer) -> None:
    for path in (
        "/",
        f"/patients/{PATIENT}",
        "/knowledge",
        "/nope-not-a-page-404",
        f"/patients/{PATIENT}/summary",
    ):
        response = get(web_server, path)
        csp = response.headers.get("content-security-policy", "")
        if path == "/nope-not-a-page-404":
            continue  # not a web route: the CDS service answers it
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_worklist_lists_every_stored_patient_with_counts(web_server: WebServer) -> None:
    results = expected.all_assessments(DEMO_AS_OF)
    response = get(web_server, "/?all=1")
    assert response.status_code == 200
    for patient_id in results:
        assert f'data-patient-id="{patient_id}"' in response.text
    overdue_ids = {pid for pid, r in results.items() if expected.overdue(r)}
    assert overdue_ids, "the demo has overdue patients"
    filtered = get(web_server, "/?overdue=1")
    shown = set(re.findall(r'data-patient-id="([^"]+)"', filtered.text))
    assert shown == overdue_ids
    count = re.search(r'class="count-overdue"><strong>(\d+)</strong>', filtered.text)
    assert count and int(count.group(1)) == len(overdue_ids)


def test_worklist_leaves_the_deceased_out_unless_asked(web_server: WebServer) -> None:
    for query in ("/", "/?all=1", "/?live_vaccine=1"):
        assert f'data-patient-id="{DECEASED_ID}"' not in get(web_server, query).text, query
    shown = get(web_server, "/?all=1&deceased=1").text
    assert f'data-patient-id="{DECEASED_ID}"' in shown
    assert "Not applicable: deceased." in get(web_server, f"/patients/{DECEASED_ID}").text


def test_worklist_csv_matches_the_assessments(web_server: WebServer) -> None:
    results = expected.all_assessments(DEMO_AS_OF)
    response = get(web_server, "/worklist.csv?all=1")
    assert response.headers["content-type"].startswith("text/csv")
    rows = {row["patient_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    for patient_id, result in results.items():
        row = rows[patient_id]
        assert row["recommendations"].split(";") == [r["id"] for r in result["recommendations"]] or (
            not result["recommendations"] and row["recommendations"] == ""
        )
        assert row["overdue"] == ("true" if expected.overdue(result) else "false")
        assert row["igrt_criteria"] == ("true" if "igrt.start" in row["recommendations"] else "false")


def test_patient_page_shows_the_assessment(web_server: WebServer) -> None:
    result = expected.assessment(PATIENT, DEMO_AS_OF)
    html = get(web_server, f"/patients/{PATIENT}").text
    assert one_line(result["bottom_line"]) in html
    assert re.findall(r'data-rec-id="([^"]+)"', html) == [r["id"] for r in result["recommendations"]]
    for rec in result["recommendations"]:
        for reason in rec["reasons"]:
            assert _escaped(one_line(reason["text"])) in html
        for statement in rec["statements"]:
            assert f'href="/knowledge/statements/{statement}"' in html
    chart = expected.chart_json(html)
    for kind in ("igg", "igm", "iga"):
        assert [(p["date"], p["value"]) for p in chart["series"][kind]] == expected.lab_values(
            PATIENT, kind, DEMO_AS_OF
        )
        assert chart["limits"][kind] == result["facts"]["immunoglobulins"][kind]["limit"]
    assert [(i["date"], i["severity"], i["encapsulated"]) for i in chart["infections"]] == [
        (
            e["onset"],
            "life-threatening" if e["life_threatening"] else "severe" if e["severe"] else "other",
            e["encapsulated"],
        )
        for e in result["facts"]["infection_episodes"]
    ]
    assert {p["crossing"] for p in chart["projections"]} == {
        t["crossing"] for t in result["facts"]["trends"] if t["crossing"]
    }
    assert chart["replacement_threshold"] == 400


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def test_as_of_changes_the_assessment(web_server: WebServer) -> None:
    from datetime import date

    early = date(2026, 3, 1)
    result = expected.assessment(PATIENT, early)
    html = get(web_server, f"/patients/{PATIENT}?as_of={early.isoformat()}").text
    assert re.findall(r'data-rec-id="([^"]+)"', html) == [r["id"] for r in result["recommendations"]]
    assert one_line(result["bottom_line"]) in html
    assert get(web_server, f"/patients/{PATIENT}?as_of=2026-13-01").status_code == 400


def test_dose_endpoint_uses_the_dose_block(web_server: WebServer) -> None:
    profile = load_profile("stewardship")
    block, _ = dose_block(120, 165, "female", profile)
    response = get(
        web_server,
        "/dose?weight_kg=120&height_cm=165&sex=female&profile=stewardship",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f"{block.ivig.dose_g} g" in response.text
    assert "adjusted body weight" in response.text
    bad = get(web_server, "/dose?weight_kg=heavy", headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "weight_kg" in bad.text


def test_xss_patient_is_escaped_everywhere(web_server: WebServer) -> None:
    for path in (
        f"/patients/{XSS_ID}",
        "/?all=1",
        f"/patients/{XSS_ID}/summary",
        f"/patients/{XSS_ID}/leaflet",
    ):
        html = get(web_server, path).text
        assert "<script>alert(1)" not in html, path
        assert "<img src=x" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in get(web_server, f"/patients/{XSS_ID}").text


def test_post_without_csrf_token_is_forbidden(web_server: WebServer) -> None:
    _, cookies = csrf_and_cookies(web_server)
    response = httpx.post(
        web_server.base_url + "/upload", files={"file": ("a.json", b"{}")}, cookies=cookies, timeout=30
    )
    assert response.status_code == 403
    wrong = httpx.post(
        web_server.base_url + "/upload",
        data={"csrf_token": "forged"},
        files={"file": ("a.json", b"{}")},
        cookies=cookies,
        timeout=30,
    )
    assert wrong.status_code == 403


def test_refused_upload_leaves_the_store_unchanged(web_server: WebServer) -> None:
    token, cookies = csrf_and_cookies(web_server)
    before = get(web_server, "/worklist.csv?all=1").text
    response = httpx.post(
        web_server.base_url + "/upload",
        data={"csrf_token": token},
        files={"file": ("broken.ndjson", b'{"resourceType": "Patient", "id": "new-1"}\n{not json\n')},
        cookies=cookies,
        timeout=30,
    )
    assert response.status_code == 422
    message = re.search(r'id="upload-error">([^<]+)<', response.text)
    assert message and "broken.ndjson" in message.group(1) and "line 2" in message.group(1)
    assert "/tmp" not in message.group(1)
    assert get(web_server, "/worklist.csv?all=1").text == before


def test_summary_pdf_holds_the_bottom_line(web_server: WebServer) -> None:
    result = expected.assessment(PATIENT, DEMO_AS_OF)
    response = get(web_server, f"/patients/{PATIENT}/summary.pdf")
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(response.content)).pages)
    assert " ".join(one_line(result["bottom_line"]).split()[:6]) in " ".join(text.split())


def test_knowledge_pages_for_every_id(web_server: WebServer) -> None:
    kb = knowledge()
    for rec_id, entry in kb.catalog.items():
        html = get(web_server, f"/knowledge/recommendations/{rec_id}").text
        for statement in entry.statements:
            assert f'href="/knowledge/statements/{statement}"' in html
        for key in entry.parameters:
            assert f'data-key="{key}"' in html
    for statement_id, statement in kb.statements.items():
        html = get(web_server, f"/knowledge/statements/{statement_id}").text
        assert _escaped(statement.text.split("\n")[0]) in html
        assert f'href="/knowledge/documents/{statement.document}#{statement_id}"' in html
    for key in kb.documents:
        html = get(web_server, f"/knowledge/documents/{key}").text
        anchors = set(re.findall(r'<div class="stmt" id="([^"]+)"', html))
        assert anchors == {s.id for s in kb.statements.values() if s.document == key}
    assert get(web_server, "/knowledge/recommendations/no.such").status_code == 404


def test_login_required_with_a_users_file(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text(f'[[user]]\nname = "nurse"\npassword_hash = "{hash_password("correct horse")}"\n')
    settings = dev_settings(tmp_path, users_file=users, secret_key="s3cret")
    with start_server(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        first = client.get("/")
        assert first.status_code == 303 and first.headers["location"].startswith("/login")
        form = client.get("/login?next=/knowledge")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        wrong = client.post(
            "/login", data={"csrf_token": token.group(1), "username": "nurse", "password": "x", "next": "/"}
        )
        assert wrong.status_code == 401
        ok = client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "username": "nurse",
                "password": "correct horse",
                "next": "/knowledge",
            },
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/knowledge"
        assert client.get("/knowledge").status_code == 200
        assert client.get("/cds-services").status_code == 200  # the CDS Hooks service has its own auth
        assert client.get("/docs").status_code == 404  # Swagger UI (scripts from a CDN): off with a login
        assert "Strict-Transport-Security" not in first.headers  # plain http here


def test_hsts_with_an_https_public_url(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text('[[user]]\nname = "nurse"\npassword_hash = "' + hash_password("pw-123456") + '"\n')
    settings = replace(dev_settings(tmp_path), users_file=users, public_url="https://igwatch.example.org")
    with start_server(settings) as base:
        response = httpx.get(base + "/login", headers={"Host": "igwatch.example.org"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_foreign_host_header_is_refused_dns_rebinding(web_server: WebServer) -> None:
    """A page that reaches a clinician's local server through DNS rebinding sends its own host
    name: it used to get 200 and the patients (Host: attacker.example)."""
    for path in ("/", f"/patients/{XSS_ID}", "/worklist.csv", "/cds-services"):
        response = httpx.get(web_server.base_url + path, headers={"Host": "attacker.example"})
        assert response.status_code == 400, path
        assert XSS_ID not in response.text
    for host in ("127.0.0.1", "localhost"):
        assert httpx.get(web_server.base_url + "/", headers={"Host": host}).status_code == 200


def test_a_public_url_without_users_file_is_refused(tmp_path: Path) -> None:
    """Behind a reverse proxy on 127.0.0.1, --public-url used to serve every patient to anyone
    reaching the proxy, without a login."""
    from igwatch.app import create_app

    with pytest.raises(IgwatchError, match=r"--public-url https://igwatch\.example\.org.*--users"):
        create_app(replace(dev_settings(tmp_path), public_url="https://igwatch.example.org"))


def test_trusted_hosts_follow_the_settings(tmp_path: Path) -> None:
    from igwatch.app import trusted_hosts

    settings = dev_settings(tmp_path)
    assert trusted_hosts(settings) == ["localhost", "127.0.0.1", "::1", "[::1]"]
    public = replace(settings, public_url="https://igwatch.example.org/base")
    assert "igwatch.example.org" in trusted_hosts(public) and "*" not in trusted_hosts(public)
    assert trusted_hosts(replace(settings, host="0.0.0.0")) == ["*"]  # then a login guards the pages


def test_non_loopback_host_without_users_file_is_refused(tmp_path: Path) -> None:
    from igwatch.app import create_app

    with pytest.raises(IgwatchError, match="--users"):
        create_app(replace(dev_settings(tmp_path), host="0.0.0.0"))
    run = subprocess.run(
        [sys.executable, "-m", "igwatch.cli", "serve", "--host", "0.0.0.0", "--demo", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--users" in run.stderr and "Traceback" not in run.stderr


def test_hash_password_makes_a_users_entry(tmp_path: Path) -> None:
    import tomllib

    run = subprocess.run(
        [sys.executable, "-m", "igwatch.cli", "hash-password", "--name", "nurse"],
        input="correct horse\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    (tmp_path / "users.toml").write_text(run.stdout)
    users = load_users(tmp_path / "users.toml")
    assert verify_password(users["nurse"], "correct horse")
    assert not verify_password(users["nurse"], "wrong")
    assert tomllib.loads(run.stdout)["user"][0]["name"] == "nurse"


def test_serve_demo_from_the_command_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "igwatch.cli", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "serve --demo did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert len(re.findall(r'class="patient-link"', response.text)) >= 24
        assert "As of 2026-10-15" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/patients/{PATIENT}", timeout=30).status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "GET /patients/… " in output
    assert PATIENT not in output  # patient ids stay out of the log
