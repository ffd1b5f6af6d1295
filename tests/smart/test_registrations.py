"""The SMART registration file, the scopes igwatch asks for, and what a granted scope lets it read."""

from __future__ import annotations

from pathlib import Path

import pytest

from igwatch.oauth import READ_TYPES, ServerConfiguration, read_scopes
from igwatch.smart.registrations import RegistrationError, load_registrations
from igwatch.smart.routes import _granted_types, _scopes

GOOD = """
[[ehr]]
name = "Hospital EHR"
issuer = "https://ehr.example.org/fhir/"
client_id = "igwatch"
client_secret = "s3cret"
scopes = ["launch", "openid", "fhirUser", "patient/*.rs"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smart-ehrs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config(*capabilities: str) -> ServerConfiguration:
    return ServerConfiguration(
        issuer="https://ehr.example.org",
        authorization_endpoint="https://ehr.example.org/auth",
        token_endpoint="https://ehr.example.org/token",
        jwks_uri=None,
        capabilities=frozenset(capabilities),
    )


def test_a_good_file(tmp_path: Path) -> None:
    registrations = load_registrations(write(tmp_path, GOOD))
    ehr = registrations.for_issuer("https://ehr.example.org/fhir")
    assert ehr is not None and ehr.auth_method == "client_secret_basic"
    assert registrations.for_fhir_server("https://ehr.example.org/fhir/") is ehr
    assert registrations.for_issuer("https://ehr.example.org/other") is None
    assert ehr.frame_origins == ("https://ehr.example.org",)
    assert ehr.allows("patient/Observation.rs") and ehr.allows("patient/Observation.read")
    assert not ehr.allows("user/Observation.rs") and not ehr.allows("online_access")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[\\[ehr\\]\\] entries"),
        ('[[ehr]]\nname = "A"\nclient_id = "c"\n', "issuer must be a non-empty string"),
        ('[[ehr]]\nname = "A"\nissuer = "ftp://x/fhir"\nclient_id = "c"\n', "is not an http\\(s\\) base URL"),
        (
            '[[ehr]]\nname = "A"\nissuer = "https://x/fhir"\nclient_id = "c"\nclient_secret = "s"\n'
            'private_key_file = "k.pem"\n',
            "not both",
        ),
        (
            '[[ehr]]\nname = "A"\nissuer = "https://x/fhir"\nclient_id = "c"\n'
            '[[ehr]]\nname = "B"\nissuer = "https://x/fhir/"\nclient_id = "d"\n',
            "registered twice",
        ),
        (
            '[[ehr]]\nname = "A"\nissuer = "https://x/fhir"\nclient_id = "c"\nscopes = "all"\n',
            "list of strings",
        ),
        (
            '[[ehr]]\nname = "A"\nissuer = "https://x/fhir"\nclient_id = "c"\nprivate_key_file = "nope.pem"\n',
            "cannot be read",
        ),
        ("[[ehr", "not a readable TOML file"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RegistrationError, match=message) as refused:
        load_registrations(write(tmp_path, text))
    assert "\n" not in str(refused.value) or "TOML" in str(refused.value)


def test_scopes_v2_when_offered_else_v1() -> None:
    assert read_scopes(config("permission-v2"))[:2] == ["patient/Patient.r", "patient/Observation.rs"]
    assert read_scopes(config("permission-v1")) == [f"patient/{t}.read" for t in READ_TYPES]


def test_the_registration_bounds_the_scopes(tmp_path: Path) -> None:
    ehr = load_registrations(write(tmp_path, GOOD)).ehrs[0]
    asked = _scopes(ehr, config("permission-v2", "permission-online"), "ehr")
    assert "launch" in asked and "openid" in asked and "online_access" not in asked
    assert "patient/Observation.rs" in asked
    assert "launch/patient" in _scopes(
        load_registrations(write(tmp_path, GOOD.replace('"launch", ', '"launch/patient", '))).ehrs[0],
        config("permission-v2"),
        "standalone",
    )


@pytest.mark.parametrize(
    ("granted", "readable"),
    [
        ({"patient/*.read"}, set(READ_TYPES)),
        ({"patient/*.rs"}, set(READ_TYPES)),
        ({"patient/Observation.rs", "patient/Patient.r"}, {"Observation", "Patient"}),
        ({"patient/Observation.rs?category=laboratory"}, set()),  # a filtered read is not the record
        ({"patient/*.write", "patient/Observation.c"}, set()),
        ({"launch", "openid", "fhirUser"}, set()),
    ],
)
def test_what_a_granted_scope_reads(granted: set[str], readable: set[str]) -> None:
    assert _granted_types(frozenset(granted)) == readable
