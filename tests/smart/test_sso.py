"""Single sign-on to the web pages with the hospital's OpenID provider (oidc-provider in the
sandbox), in a real browser: allowed groups get the worklist, others a clear refusal, and the
audit trail names the identity."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from igwatch.cli import app
from igwatch.store import Database, audit_entries, load_path
from tests.smart.conftest import EXAMPLE, sign_in_at_ehr
from tests.support.servers import dev_settings, free_port, start_server
from tests.support.smart_sandbox import SmartSandbox

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

GROUP = "igwatch-clinicians"


@dataclass
class SsoIgwatch:
    base_url: str
    db_url: str


@pytest.fixture(scope="module")
def sso_igwatch(sandbox: SmartSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoIgwatch]:
    folder = tmp_path_factory.mktemp("sso-igwatch")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = sandbox.register_client(f"{base}/login/sso/callback")
    config = folder / "sso.toml"
    config.write_text(
        "[sso]\n"
        'name = "Sandbox login"\n'
        f'issuer = "{sandbox.issuer}"\n'
        f'client_id = "{client.client_id}"\n'
        f'client_secret = "{client.client_secret}"\n'
        f'allowed_groups = ["{GROUP}"]\n',
        encoding="utf-8",
    )
    settings = dev_settings(folder, sso_config=config)
    db = Database(settings.db_url)
    db.migrate()
    load_path(db, EXAMPLE)
    db.close()
    with start_server(settings, port=port) as url:
        yield SsoIgwatch(url, str(settings.db_url))


def test_sso_login_opens_the_worklist_and_is_audited(
    page: Any, sandbox: SmartSandbox, sso_igwatch: SsoIgwatch
) -> None:
    sandbox.set_groups("nurse.lee", [GROUP, "other"])
    page.goto(f"{sso_igwatch.base_url}/")
    assert "/login" in page.url  # with single sign-on configured the pages need a login
    page.click("#sso-login")
    sign_in_at_ehr(page, user="nurse.lee")
    page.wait_for_load_state()
    assert page.url.rstrip("/") == sso_igwatch.base_url
    assert "nurse.lee" in page.inner_text("header")
    page.goto(f"{sso_igwatch.base_url}/patients/example-ofatumumab-hib")
    assert page.inner_text("#patient-name") == "Robin Example"
    db = Database(sso_igwatch.db_url)
    try:
        entries = list(audit_entries(db))
    finally:
        db.close()
    identity = f"{sandbox.issuer} nurse.lee"
    assert any(e.action == "login" and e.outcome == "success" and e.actor == identity for e in entries)
    view = [e for e in entries if e.action == "patient-view"]
    assert view and view[-1].actor == identity and view[-1].actor_source == "sso"
    assert view[-1].patient_id == "example-ofatumumab-hib"

    result = CliRunner().invoke(app, ["audit", "--db", sso_igwatch.db_url])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert all(e["resourceType"] == "AuditEvent" for e in events)
    patient = {"what": {"reference": "Patient/example-ofatumumab-hib"}}
    read = [e for e in events if patient in e.get("entity", [])]
    assert any(e["subtype"][0]["code"] == "login" and "entity" not in e for e in events)
    assert read and read[-1]["agent"][0]["who"]["display"] == identity and read[-1]["action"] == "R"


def test_a_user_outside_the_allowed_groups_is_refused(
    page: Any, sandbox: SmartSandbox, sso_igwatch: SsoIgwatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="igwatch.web")
    sandbox.set_groups("visitor", ["cafeteria"])
    page.goto(f"{sso_igwatch.base_url}/login")
    page.click("#sso-login")
    sign_in_at_ehr(page, user="visitor")
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert "not in a group allowed to use igwatch" in body
    assert "Robin Example" not in body
    page.goto(f"{sso_igwatch.base_url}/")
    assert "/login" in page.url
    assert any("not in an allowed group" in r.getMessage() for r in caplog.records)


def test_an_sso_answer_with_a_forged_state_is_refused(page: Any, sso_igwatch: SsoIgwatch) -> None:
    response = page.goto(f"{sso_igwatch.base_url}/login/sso/callback?state=forged&code=x")
    assert response is not None and response.status == 400
    assert "does not belong to a login started in this browser" in page.inner_text("body")
    page.goto(f"{sso_igwatch.base_url}/")
    assert "/login" in page.url


def test_sso_file_errors_are_one_line(tmp_path: Path) -> None:
    from igwatch.web.sso import SsoConfigError, load_sso

    bad = tmp_path / "sso.toml"
    bad.write_text(
        '[sso]\nname = "x"\nissuer = "https://idp.example.org"\nclient_id = "c"\n', encoding="utf-8"
    )
    with pytest.raises(SsoConfigError, match="allowed_groups must list at least one group"):
        load_sso(bad)
    with pytest.raises(SsoConfigError, match="not found"):
        load_sso(tmp_path / "missing.toml")
