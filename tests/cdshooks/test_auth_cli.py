"""``igwatch cds-keygen`` and ``igwatch cds-token`` as a newcomer runs them: the key pair, the
printed clients snippet and a minted token that the verifier accepts."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from igwatch.cdshooks.auth import TokenVerifier, load_trusted_clients
from igwatch.cli import app

BIN = Path(sys.executable).parent
IGWATCH = str(BIN / "igwatch")
AUD = "http://127.0.0.1:8080/cds-services/igwatch-patient-view"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IGWATCH, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_keygen_then_token_is_accepted(tmp_path: Path, alg: str) -> None:
    keys = tmp_path / "keys"
    done = run("cds-keygen", "--out", str(keys), "--alg", alg, "--kid", "site-1")
    assert done.returncode == 0, done.stderr
    private, public = keys / "private-key.pem", keys / "jwks.json"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    jwks = json.loads(public.read_text())
    (jwk,) = jwks["keys"]
    assert jwk["kid"] == "site-1" and jwk["alg"] == alg and jwk["use"] == "sig"
    assert "d" not in jwk and "p" not in jwk and "PRIVATE" not in public.read_text()

    # The printed snippet is a working clients file once the issuer is filled in.
    snippet = done.stdout.replace("https://ehr.example.org", "https://ehr.test")
    clients = tmp_path / "clients.toml"
    clients.write_text(snippet)
    verifier = TokenVerifier(load_trusted_clients(clients))

    minted = run(
        "cds-token", "--key", str(private), "--iss", "https://ehr.test", "--aud", AUD, "--kid", "site-1"
    )
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": "site-1", "typ": "JWT"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300 and abs(claims["iat"] - time.time()) < 30
    assert claims["aud"] == AUD and claims["sub"] == "https://ehr.test" and claims["jti"]
    assert verifier.verify(f"Bearer {token}", AUD).iss == "https://ehr.test"


def test_default_kid_is_the_thumbprint_and_token_uses_it(tmp_path: Path) -> None:
    assert run("cds-keygen", "--out", str(tmp_path)).returncode == 0
    kid = json.loads((tmp_path / "jwks.json").read_text())["keys"][0]["kid"]
    token = run(
        "cds-token", "--key", str(tmp_path / "private-key.pem"), "--iss", "i", "--aud", AUD, "--tenant", "t1"
    ).stdout.strip()
    assert jwt.get_unverified_header(token)["kid"] == kid
    assert jwt.decode(token, options={"verify_signature": False})["tenant"] == "t1"


def test_refusals_are_one_line_with_exit_2(tmp_path: Path) -> None:
    # In process (CliRunner) to keep it quick; the console script is exercised above.
    runner = CliRunner()
    assert runner.invoke(app, ["cds-keygen", "--out", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["cds-keygen", "--out", str(tmp_path)])
    assert again.exit_code == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    for args, words in (
        (["--key", str(tmp_path / "jwks.json")], "not an unencrypted PEM private key"),
        (["--key", str(tmp_path / "absent.pem")], "cannot read the key"),
        (["--key", str(tmp_path / "private-key.pem"), "--ttl", "0"], "--ttl 0"),
    ):
        done = runner.invoke(app, ["cds-token", *args, "--iss", "i", "--aud", AUD])
        assert done.exit_code == 2, done.output
        assert done.stderr.count("\n") == 1 and words in done.stderr and "Traceback" not in done.stderr
    assert runner.invoke(app, ["cds-keygen", "--out", str(tmp_path / "x"), "--alg", "HS256"]).exit_code == 2


def test_serve_refuses_a_bad_clients_file_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    clients = tmp_path / "clients.toml"
    clients.write_text('[[client]]\niss = "https://ehr.test"\njwks = "jwks.json"\nalgorithms = ["HS256"]\n')
    done = CliRunner().invoke(
        app, ["serve", "--port", "0", "--cds-clients", str(clients), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1
    assert f"{clients}: client[0].algorithms: 'HS256' refused" in done.stderr


def test_keygen_snippet_offers_client_id_and_fhir_servers(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["cds-keygen", "--out", str(tmp_path / "keys")])
    assert done.exit_code == 0, done.output
    assert "# fhir_servers = [" in done.stdout and "# client_id = " in done.stdout
    # Uncommented, the lines are valid keys of the clients file.
    clients = tmp_path / "clients.toml"
    clients.write_text(
        done.stdout.replace("# fhir_servers", "fhir_servers").replace("# client_id", "client_id")
    )
    (client,) = load_trusted_clients(clients)
    assert client.fhir_servers == ("https://ehr.example.org/fhir",)
    assert client.client_id == "https://ehr.example.org"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--cds-clients", "CLIENTS", "--dev-fhir-server", "https://ehr.test/fhir"],
            "only with --insecure-dev-no-auth",
        ),
        (["--insecure-dev-no-auth", "--dev-fhir-server", "ehr.test/fhir"], "not an absolute http(s) URL"),
        (["--insecure-dev-no-auth", "--dev-fhir-server", "https://a@ehr.test/fhir"], "user info"),
    ],
)
def test_serve_refuses_a_bad_dev_fhir_server(tmp_path: Path, args: list[str], words: str) -> None:
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    clients = tmp_path / "clients.toml"
    clients.write_text('[[client]]\niss = "https://ehr.test"\njwks = "jwks.json"\n')
    args = [str(clients) if arg == "CLIENTS" else arg for arg in args]
    done = CliRunner().invoke(app, ["serve", "--port", "0", "--db", f"sqlite:///{tmp_path / 'x.db'}", *args])
    assert done.exit_code == 2, done.output
    assert done.stderr.count("\n") == 1 and words in done.stderr and "--dev-fhir-server" in done.stderr
