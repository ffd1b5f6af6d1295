"""A SMART on FHIR sandbox on this machine: oidc-provider as the EHR's authorization server and
Medplum's FHIR router behind it (``tests/fhirserver/smart-sandbox.mjs``), for the tests and for
anyone trying igwatch's SMART launch.

In tests::

    with start_smart_sandbox() as sandbox:
        client = sandbox.register_client("http://127.0.0.1:8080/smart/callback")
        sandbox.load(bundle)                      # stored with the admin token
        write_registration(path, sandbox, client)  # igwatch serve --smart-ehrs path

From a shell, one command starts it, registers igwatch, loads patients and prints launch links::

    .venv/bin/python -m tests.support.smart_sandbox --igwatch-url http://127.0.0.1:8080 \\
        --registration smart-ehrs.toml examples/ofatumumab-recurrent-hib.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.fhir_server import SERVER_DIR, load_bundle, run_node_server, to_transaction

STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SmartClient:
    client_id: str
    client_secret: str | None
    auth_method: str


@dataclass
class SmartSandbox:
    port: int
    issuer: str
    fhir_base: str
    admin_token: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def _put(self, path: str, body: dict[str, Any]) -> None:
        httpx.put(f"{self.issuer}{path}", json=body, timeout=10).raise_for_status()

    def register_client(
        self,
        redirect_uri: str,
        *,
        auth_method: str = "client_secret_basic",
        jwks: dict[str, Any] | None = None,
    ) -> SmartClient:
        """Register a client by OAuth dynamic client registration (RFC 7591)."""
        metadata: dict[str, Any] = {
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": auth_method,
        }
        if jwks is not None:
            metadata["jwks"] = jwks
            metadata["token_endpoint_auth_signing_alg"] = "RS384"
        response = httpx.post(f"{self.issuer}/reg", json=metadata, timeout=10)
        if response.status_code != 201:
            raise RuntimeError(
                f"client registration refused: HTTP {response.status_code}: {response.text[:300]}"
            )
        body = response.json()
        return SmartClient(body["client_id"], body.get("client_secret"), auth_method)

    def load(self, bundle: dict[str, Any]) -> None:
        load_bundle(self.fhir_base, to_transaction(bundle), token=self.admin_token)

    def ehr_launch_url(self, app_launch_url: str, patient_id: str) -> str:
        """What the EHR opens to launch the app with ``patient_id`` in context."""
        return f"{self.issuer}/ehr/launch?" + urlencode({"patient": patient_id, "app": app_launch_url})

    def set_standalone_patient(self, patient_id: str) -> None:
        self._put("/_test/standalone-patient", {"patient": patient_id})

    def set_access_token_ttl(self, seconds: int) -> None:
        self._put("/_test/access-token-ttl", {"seconds": seconds})

    def withhold_scopes(self, scopes: list[str]) -> None:
        self._put("/_test/withhold-scopes", {"scopes": scopes})

    def refuse_tokens(self, refuse: bool) -> None:
        self._put("/_test/refuse-tokens", {"refuse": refuse})

    def revoke_access_tokens(self) -> None:
        """The FHIR server refuses every access token issued so far (new ones still work)."""
        self._put("/_test/revoke-access-tokens", {})

    def set_groups(self, user: str, groups: list[str]) -> None:
        self._put("/_test/groups", {"user": user, "groups": groups})


def registration_toml(sandbox: SmartSandbox, client: SmartClient, **extra: str) -> str:
    """An ``[[ehr]]`` entry for ``igwatch serve --smart-ehrs``."""
    lines = [
        "[[ehr]]",
        'name = "SMART sandbox"',
        f'issuer = "{sandbox.fhir_base}"',
        f'client_id = "{client.client_id}"',
    ]
    if client.client_secret and client.auth_method == "client_secret_basic":
        lines.append(f'client_secret = "{client.client_secret}"')
    lines += [f'{key} = "{value}"' for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@contextmanager
def start_smart_sandbox(port: int = 0) -> Iterator[SmartSandbox]:
    """Start the sandbox on a loopback port (0: a free one); stop it when the block ends."""
    if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"oidc-provider is missing in {SERVER_DIR}: run bash scripts/setup")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FHIR_")}
    with run_node_server("smart-sandbox.mjs", env, port=port) as ready:
        yield SmartSandbox(
            port=ready["port"],
            issuer=ready["issuer"],
            fhir_base=ready["fhir_base"],
            admin_token=ready["admin_token"],
            process=ready["process"],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.smart_sandbox",
        description="Start a SMART on FHIR sandbox (authorization server + FHIR server), register "
        "igwatch with it, load patients, and print EHR launch links.",
    )
    parser.add_argument("bundles", nargs="*", type=Path, help="FHIR Bundles (JSON) to load")
    parser.add_argument("--port", type=int, default=9000, help="sandbox port (default 9000)")
    parser.add_argument("--igwatch-url", default="http://127.0.0.1:8080", help="igwatch's base URL")
    parser.add_argument(
        "--registration", type=Path, default=Path("smart-ehrs.toml"), help="registration file to write"
    )
    args = parser.parse_args(argv)
    igwatch = args.igwatch_url.rstrip("/")
    with start_smart_sandbox(args.port) as sandbox:
        client = sandbox.register_client(f"{igwatch}/smart/callback")
        args.registration.write_text(registration_toml(sandbox, client), encoding="utf-8")
        patients = []
        for path in args.bundles:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            sandbox.load(bundle)
            patients += [
                e["resource"]["id"]
                for e in bundle.get("entry", [])
                if e["resource"]["resourceType"] == "Patient"
            ]
        if patients:
            sandbox.set_standalone_patient(patients[0])
        print(f"SMART sandbox: authorization server {sandbox.issuer}, FHIR server {sandbox.fhir_base}")
        print(f"wrote {args.registration}: start igwatch with")
        print(f"  igwatch serve --insecure-dev-no-auth --smart-ehrs {args.registration}")
        for patient in patients:
            print(f"EHR launch of {patient}: {sandbox.ehr_launch_url(f'{igwatch}/smart/launch', patient)}")
        print(f"standalone launch: {igwatch}/smart/launch?iss={sandbox.fhir_base}")
        print("log in with any user name and password; Ctrl-C stops the sandbox")
        sys.stdout.flush()
        with suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
