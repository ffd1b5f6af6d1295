"""SMART App Launch in a real browser: the EHR launch and the standalone launch against
oidc-provider and the FHIR server behind it, and every way a launch can go wrong."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from pypdf import PdfReader

from igwatch.store import Database, audit_entries
from tests.smart.conftest import (
    AS_OF,
    EXAMPLE,
    SECOND,
    Igwatch,
    bundle_of,
    expected_ids,
    patient_id_of,
    sign_in_at_ehr,
)
from tests.support.smart_sandbox import SmartSandbox

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

EXAMPLE_BUNDLE = bundle_of(EXAMPLE)
EXAMPLE_ID = patient_id_of(EXAMPLE_BUNDLE)
EXAMPLE_NAME = "Robin Example"


def shown_ids(page: Any) -> list[str]:
    return [
        str(x)
        for x in page.locator("article.card[data-rec-id]").evaluate_all(
            "els => els.map(e => e.dataset.recId)"
        )
    ]


def ehr_launch(page: Any, sandbox: SmartSandbox, igwatch: Igwatch, patient_id: str = EXAMPLE_ID) -> None:
    page.goto(sandbox.ehr_launch_url(f"{igwatch.base_url}/smart/launch", patient_id))
    sign_in_at_ehr(page)
    page.wait_for_load_state()


def audit_of(igwatch: Igwatch) -> list[Any]:
    db = Database(f"sqlite:///{igwatch.registration.parent / 'igwatch-test.db'}")
    try:
        return list(audit_entries(db))
    finally:
        db.close()


# ------------------------------------------------------------------------ the launches that work


def test_ehr_launch_shows_the_same_recommendations_as_assess(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch
) -> None:
    ehr_launch(page, sandbox, igwatch)
    assert urlsplit(page.url).path.startswith("/smart/app/")
    assert page.inner_text("#patient-name") == EXAMPLE_NAME
    assert page.inner_text("#as-of") == AS_OF.isoformat()
    assert shown_ids(page) == expected_ids(EXAMPLE_BUNDLE)
    assert "opened from SMART sandbox" in page.inner_text("header")
    # The token stays on the server: neither the page nor its cookies carry it.
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies if c["domain"] == "127.0.0.1" and "smart" in c["name"]] == [
        "igwatch_smart"
    ]
    assert "access_token" not in page.content()
    audit = [e for e in audit_of(igwatch) if e.actor_source == "smart" and e.outcome == "success"]
    assert {e.action for e in audit} >= {"smart-launch", "patient-view"}
    assert all(e.actor.startswith(f"{sandbox.fhir_base}/Practitioner/drsmith") for e in audit)
    assert {e.patient_id for e in audit} == {EXAMPLE_ID}


def test_the_summary_pdf_and_leaflet_of_a_launch(page: Any, sandbox: SmartSandbox, igwatch: Igwatch) -> None:
    ehr_launch(page, sandbox, igwatch)
    base = page.url.split("?")[0]
    bottom_line = page.inner_text("#bottom-line")
    page.goto(f"{base}/summary")
    assert EXAMPLE_NAME in page.inner_text("body") or EXAMPLE_ID in page.inner_text("body")
    assert bottom_line.splitlines()[-1].strip()[:40] in page.inner_text("body")
    pdf = page.request.get(f"{base}/summary.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "igrt.start" in text or "immunoglobulin" in text.lower()
    page.goto(f"{base}/leaflet")
    assert page.locator("h1").count() >= 1 and EXAMPLE_NAME in page.inner_text("body")


def test_standalone_launch_picks_the_patient_at_the_ehr(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch
) -> None:
    second = bundle_of(SECOND)
    sandbox.set_standalone_patient(patient_id_of(second))
    page.goto(f"{igwatch.base_url}/smart/launch?" + urlencode({"iss": sandbox.fhir_base}))
    sign_in_at_ehr(page)
    assert urlsplit(page.url).path.startswith("/smart/app/")
    assert shown_ids(page) == expected_ids(second)
    assert "anti-cd20.consider-discontinuation" in shown_ids(page)


def test_public_client_launch(
    page: Any, sandbox: SmartSandbox, igwatch_factory: Callable[..., Igwatch]
) -> None:
    public = igwatch_factory(auth_method="none")
    assert public.client.client_secret is None
    ehr_launch(page, sandbox, public)
    assert shown_ids(page) == expected_ids(EXAMPLE_BUNDLE)


def test_private_key_jwt_client_launch(
    page: Any, sandbox: SmartSandbox, igwatch_factory: Callable[..., Igwatch], tmp_path: Any
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from joserfc.jwk import RSAKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "igwatch-smart.pem"
    key_file.write_bytes(pem)
    public_jwk = RSAKey.import_key(pem).as_dict(private=False, kid="igwatch-1", alg="RS384", use="sig")
    signed = igwatch_factory(auth_method="private_key_jwt", jwks={"keys": [public_jwk]}, key_file=key_file)
    ehr_launch(page, sandbox, signed)
    assert shown_ids(page) == expected_ids(EXAMPLE_BUNDLE)


def test_the_launched_page_may_be_framed_by_the_ehr_only(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch
) -> None:
    ehr_launch(page, sandbox, igwatch)
    response = page.request.get(page.url)
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {sandbox.issuer}" in policy
    assert "x-frame-options" not in response.headers
    web = httpx.get(f"{igwatch.base_url}/", timeout=10)
    assert "frame-ancestors 'none'" in web.headers["content-security-policy"]


# ------------------------------------------------------------------------ launches that fail


def refused_page(page: Any, status: int, words: str) -> None:
    body = page.inner_text("body")
    assert words in body, body[:500]
    assert EXAMPLE_NAME not in body and "Recommendations" not in body


def test_wrong_iss_is_refused(page: Any, igwatch: Igwatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="igwatch.smart")
    response = page.goto(
        f"{igwatch.base_url}/smart/launch?" + urlencode({"iss": "https://evil.example/fhir", "launch": "x"})
    )
    assert response.status == 400
    refused_page(page, 400, "not registered")
    assert any("not registered" in r.getMessage() for r in caplog.records)


def test_wrong_state_is_refused(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="igwatch.smart")
    ehr_launch(page, sandbox, igwatch)
    response = page.goto(f"{igwatch.base_url}/smart/callback?state=forged&code=anything")
    assert response.status == 400
    refused_page(page, 400, "does not belong to a launch started in this browser")
    assert any("state" in r.getMessage() for r in caplog.records)


def test_a_replayed_code_is_refused(page: Any, sandbox: SmartSandbox, igwatch: Igwatch) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/smart/callback" in r.url else None)
    ehr_launch(page, sandbox, igwatch)
    first_code = parse_qs(urlsplit(callbacks[0]).query)["code"][0]
    # A second launch in the same browser, whose answer carries the first launch's code again.
    at_ehr = page.request.get(
        sandbox.ehr_launch_url(f"{igwatch.base_url}/smart/launch", EXAMPLE_ID), max_redirects=0
    )
    launch = page.request.get(at_ehr.headers["location"], max_redirects=0)
    assert launch.status == 303
    state = parse_qs(urlsplit(launch.headers["location"]).query)["state"][0]
    response = page.goto(
        f"{igwatch.base_url}/smart/callback?" + urlencode({"state": state, "code": first_code})
    )
    assert response is not None and response.status == 403
    refused_page(page, 403, "refused")
    assert "invalid_grant" in page.inner_text("body")


def test_a_token_without_the_patient_scopes_is_refused(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="igwatch.smart")
    scopes = [f"patient/Observation.{s}" for s in ("rs", "r", "s", "read")] + [
        "patient/*.rs",
        "patient/*.read",
    ]
    sandbox.withhold_scopes(scopes)
    try:
        ehr_launch(page, sandbox, igwatch)
    finally:
        sandbox.withhold_scopes([])
    refused_page(page, 403, "did not grant igwatch read access to Observation")
    assert any("did not grant" in r.getMessage() for r in caplog.records)


def test_an_expired_token_is_refreshed(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="igwatch.smart")
    sandbox.set_access_token_ttl(5)  # igwatch refreshes a token in its last 30 seconds
    try:
        ehr_launch(page, sandbox, igwatch)
    finally:
        sandbox.set_access_token_ttl(3600)
    assert shown_ids(page) == expected_ids(EXAMPLE_BUNDLE)
    assert any("access token refreshed" in r.getMessage() for r in caplog.records)


def test_a_token_the_fhir_server_no_longer_accepts_is_refreshed(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch, caplog: pytest.LogCaptureFixture
) -> None:
    ehr_launch(page, sandbox, igwatch)
    assert shown_ids(page) == expected_ids(EXAMPLE_BUNDLE)
    caplog.set_level(logging.INFO, logger="igwatch.smart")
    sandbox.revoke_access_tokens()  # igwatch still thinks its token is good for an hour
    page.goto(page.url.split("?")[0] + "?as_of=2026-10-16")  # another day: the record is read again
    assert page.inner_text("#as-of") == "2026-10-16"
    assert page.inner_text("#patient-name") == EXAMPLE_NAME
    assert any("access token refreshed" in r.getMessage() for r in caplog.records)


def test_a_fhir_server_that_refuses_the_token(
    page: Any, sandbox: SmartSandbox, igwatch: Igwatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="igwatch.smart")
    sandbox.refuse_tokens(True)
    try:
        ehr_launch(page, sandbox, igwatch)
    finally:
        sandbox.refuse_tokens(False)
    refused_page(page, 403, "refused igwatch's access token")
    messages = [r.getMessage() for r in caplog.records]
    assert any("access token refreshed" in m for m in messages)  # one refresh was tried first
    assert any("refused igwatch's access token" in m for m in messages)
    assert not any(EXAMPLE_ID in m for m in messages)


def test_another_browser_cannot_use_a_launch(
    browser: Any, page: Any, sandbox: SmartSandbox, igwatch: Igwatch
) -> None:
    ehr_launch(page, sandbox, igwatch)
    other = browser.new_context()
    try:
        intruder = other.new_page()
        response = intruder.goto(page.url)
        assert response.status == 401
        assert EXAMPLE_NAME not in intruder.inner_text("body")
    finally:
        other.close()
