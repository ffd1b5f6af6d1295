"""The SMART sandbox (oidc-provider + the FHIR server behind it) with two patients, igwatch
servers registered with it, and a browser to drive the launches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.knowledge.profile import load_profile
from tests.support.servers import dev_settings, free_port, start_server
from tests.support.smart_sandbox import SmartClient, SmartSandbox, registration_toml, start_smart_sandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ofatumumab-recurrent-hib.json"
SECOND = REPO / "tests" / "vignettes" / "cases" / "v-kcd-pml-ocrelizumab.json"
AS_OF = date(2026, 10, 15)


def bundle_of(path: Path) -> dict[str, Any]:
    """The FHIR Bundle of an example file or of a vignette (its ``bundle``)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    bundle: dict[str, Any] = data.get("bundle", data)
    return bundle


def with_own_ids(bundle: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The Bundle with every resource but the Patient renamed ``prefix-<id>`` (references too), so
    that two example files that reuse ids ("obs-1") can live on one FHIR server."""
    text = json.dumps(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Patient" and "id" in resource:
            old = f'{resource["resourceType"]}/{resource["id"]}"'
            text = text.replace(f'"{old}', f'"{resource["resourceType"]}/{prefix}-{resource["id"]}"')
    renamed: dict[str, Any] = json.loads(text)
    for entry in renamed["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Patient" and "id" in resource:
            resource["id"] = f"{prefix}-{resource['id']}"
    return renamed


def patient_id_of(bundle: dict[str, Any]) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def expected_ids(bundle: dict[str, Any], as_of: date = AS_OF) -> list[str]:
    """What ``igwatch assess`` recommends for this Bundle: the ids, in order."""
    timeline = build_timeline(resources_from_json(bundle), patient_id=patient_id_of(bundle))
    return [r.id for r in assess(timeline, as_of, load_profile("default")).recommendations]


@dataclass
class Igwatch:
    base_url: str
    registration: Path
    client: SmartClient


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SmartSandbox]:
    with start_smart_sandbox() as running:
        running.load(bundle_of(EXAMPLE))
        running.load(with_own_ids(bundle_of(SECOND), "second"))
        yield running


@pytest.fixture(scope="module")
def igwatch_factory(
    sandbox: SmartSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Igwatch]]:
    """Start an igwatch registered with the sandbox (``auth_method``: client_secret_basic,
    private_key_jwt with ``jwks``/``key_file``, or none); extra settings pass through."""
    with ExitStack() as stack:

        def start(
            auth_method: str = "client_secret_basic",
            jwks: dict[str, Any] | None = None,
            key_file: Path | None = None,
            **settings: Any,
        ) -> Igwatch:
            folder = tmp_path_factory.mktemp("smart-igwatch")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            client = sandbox.register_client(f"{base}/smart/callback", auth_method=auth_method, jwks=jwks)
            extra = {"private_key_file": str(key_file), "key_id": "igwatch-1"} if key_file else {}
            registration = folder / "smart-ehrs.toml"
            registration.write_text(registration_toml(sandbox, client, **extra), encoding="utf-8")
            config = dev_settings(folder, smart_ehrs=registration, as_of=AS_OF, **settings)
            url = stack.enter_context(start_server(config, port=port))
            return Igwatch(url, registration, client)

        yield start


@pytest.fixture(scope="module")
def igwatch(igwatch_factory: Callable[..., Igwatch]) -> Igwatch:
    """igwatch as a confidential client (client_secret_basic)."""
    return igwatch_factory()


def sign_in_at_ehr(page: Any, user: str = "drsmith") -> None:
    """Log in and consent at the sandbox's authorization server, as far as it asks."""
    for _ in range(3):
        page.wait_for_load_state()
        if page.locator("input[name=login]").count():
            page.fill("input[name=login]", user)
            page.fill("input[name=password]", "any password")
            page.click("button[type=submit]")
        elif page.locator("input[name=prompt][value=consent]").count():
            page.click("button[type=submit]")
        else:
            return
