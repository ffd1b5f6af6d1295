"""Which ``fhirServer`` URLs lie under a client's allowed FHIR bases (no server needed)."""

from __future__ import annotations

import pytest

from igwatch.cdshooks.fhir_bases import FhirBaseError, FhirServerAllowlist, normalise_base, parse_fhir_url

BASE = "https://ehr.example.org/fhir"
ALLOWLIST = FhirServerAllowlist(bases=(BASE, "http://10.1.2.3:8080/r4/"))


@pytest.mark.parametrize(
    "fhir_server",
    [
        BASE,
        BASE + "/",
        BASE + "/tenant-7",
        BASE + "/tenant-7/",
        "HTTPS://EHR.EXAMPLE.ORG/fhir",
        "https://ehr.example.org:443/fhir",
        "https://ehr.example.org/%66hir",  # an escaped unreserved character is the character
        "http://10.1.2.3:8080/r4",
    ],
)
def test_allowed(fhir_server: str) -> None:
    assert ALLOWLIST.allowed_base(fhir_server) in (BASE, "http://10.1.2.3:8080/r4")


@pytest.mark.parametrize(
    "fhir_server",
    [
        "https://ehr.example.org/fhirx",  # a prefix, not on a segment boundary
        "https://ehr.example.org/fhi",
        "https://ehr.example.org/",
        "https://ehr.example.org/FHIR",  # paths are case-sensitive
        "https://ehr.example.org:8443/fhir",  # another port
        "http://ehr.example.org/fhir",  # another scheme
        "https://ehr.example.org@evil.example/fhir",  # user info: the host is evil.example
        "https://ehr.example.org:443@evil.example/fhir",
        "https://user:pw@ehr.example.org/fhir",
        "https://ehr.example.org.evil.example/fhir",
        "https://evil.example/#@ehr.example.org/fhir",
        "https://evil.example\\@ehr.example.org/fhir",
        "https://ehr.example.org/fhir/../admin",
        "https://ehr.example.org/fhir/%2e%2e/admin",
        "https://ehr.example.org/fhir/%2fadmin",
        "https://ehr.example.org/fhir?_format=json",
        "http://10.1.2.3/r4",  # the default port is not 8080
        "http://127.0.0.1:8080/r4",  # loopback is not special for a trusted client
        "ftp://ehr.example.org/fhir",
        "ehr.example.org/fhir",
        "",
    ],
)
def test_refused(fhir_server: str) -> None:
    assert ALLOWLIST.allowed_base(fhir_server) is None


def test_an_empty_list_allows_nothing() -> None:
    assert FhirServerAllowlist().allowed_base(BASE) is None


def test_trial_mode_allows_loopback_and_the_listed_bases_only() -> None:
    trial = FhirServerAllowlist(bases=(BASE,), any_loopback=True)
    for loopback in ("http://127.0.0.1:9/fhir", "http://localhost:8080/fhir/", "http://[::1]:9/r4"):
        assert trial.allowed_base(loopback) == normalise_base(loopback)
    assert trial.allowed_base(BASE + "/r4") == BASE
    for other in ("http://10.0.0.8/fhir", "http://0.0.0.0:9/fhir", "http://2130706433/fhir", "http://127.1/"):
        assert trial.allowed_base(other) is None, other


def test_links_may_carry_a_query_and_are_compared_by_path() -> None:
    base = parse_fhir_url(BASE)
    assert base.contains(parse_fhir_url(BASE + "/Observation?_offset=3&_count=3", with_query=True))
    assert base.contains(parse_fhir_url(BASE + "?_getpages=abc", with_query=True))
    assert not base.contains(parse_fhir_url("https://ehr.example.org/other?_getpages=abc", with_query=True))


def test_normalised_form() -> None:
    assert normalise_base("HTTPS://EHR.Example.ORG:443/fhir/") == BASE
    assert normalise_base("http://[::1]:80/") == "http://[::1]"
    assert normalise_base("http://ehr.example.org:8080/a//b/") == "http://ehr.example.org:8080/a//b"
    with pytest.raises(FhirBaseError, match="user info"):
        normalise_base("https://ehr.example.org@evil.example/")
