"""The EHRs igwatch is registered with as a SMART app: one TOML file, one ``[[ehr]]`` each.

```toml
[[ehr]]
name = "Hospital EHR"                          # shown on pages and in the log
issuer = "https://ehr.example.org/fhir"        # the FHIR base the EHR sends as ``iss``
client_id = "igwatch"
client_secret = "…"                            # confidential client (client_secret_basic)
# private_key_file = "igwatch-smart.pem"       # … or private-key JWT (RS384 or ES384)
# key_id = "igwatch-1"                         # the ``kid`` the EHR knows the public key by
# neither: a public client (PKCE alone)
scopes = ["launch", "openid", "fhirUser", "patient/*.rs"]   # what the EHR allows (optional)
frame_origins = ["https://ehr.example.org"]    # who may frame the page (default: the issuer's origin)
```

``scopes`` bounds what igwatch asks for (a wildcard such as ``patient/*.rs`` or ``patient/*.read``
allows each type); left out, igwatch asks for what it needs. The CDS Hooks summary card links to
the app only for an EHR listed here (its ``fhirServer`` under ``issuer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from igwatch.config_files import OAuthClient, oauth_client, read_toml, text_value
from igwatch.errors import IgwatchError


class RegistrationError(IgwatchError):
    """The registration file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, kw_only=True)
class EhrRegistration(OAuthClient):
    name: str
    issuer: str
    scopes: tuple[str, ...] | None = None
    frame_origins: tuple[str, ...] = ()

    def allows(self, scope: str) -> bool:
        """Whether the EHR lets igwatch ask for ``scope`` (all, when no list is given)."""
        if self.scopes is None or scope in self.scopes:
            return True
        level, _, rest = scope.partition("/")
        kind, _, suffix = rest.partition(".")
        if not suffix or not kind:
            return False
        wildcard = {f"{level}/*.{suffix}", f"{level}/*.*"}
        if suffix in ("rs", "r", "s"):
            wildcard |= {
                f"{level}/*.read",
                f"{level}/{kind}.read",
                f"{level}/*.cruds",
                f"{level}/{kind}.cruds",
            }
        if suffix == "read":
            wildcard |= {f"{level}/*.rs", f"{level}/{kind}.rs"}
        return bool(wildcard & set(self.scopes))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _normalised(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Registrations:
    ehrs: tuple[EhrRegistration, ...]

    def for_issuer(self, issuer: str | None) -> EhrRegistration | None:
        """The EHR whose FHIR base is exactly ``issuer`` (a launch's ``iss``)."""
        if not issuer:
            return None
        wanted = _normalised(issuer)
        return next((ehr for ehr in self.ehrs if ehr.issuer == wanted), None)

    def for_fhir_server(self, fhir_server: str | None) -> EhrRegistration | None:
        """The EHR whose FHIR base ``fhir_server`` is (CDS Hooks ``fhirServer``)."""
        return self.for_issuer(fhir_server)

    @property
    def frame_origins(self) -> tuple[str, ...]:
        """Every origin allowed to frame the launched page."""
        return tuple(dict.fromkeys(o for ehr in self.ehrs for o in ehr.frame_origins))


def _http_url(value: str, key: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RegistrationError(f"{where}: {key} {value!r} is not an http(s) base URL")
    return _normalised(value)


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistrationError(f"{where}: {key} must be a list of strings")
    return tuple(v.strip() for v in value)


def load_registrations(path: Path) -> Registrations:
    """Read and check a registration file; a relative ``private_key_file`` is read beside it."""
    entries = read_toml(path, "SMART registration file", RegistrationError).get("ehr")
    if not isinstance(entries, list) or not entries:
        raise RegistrationError(f"{path}: no [[ehr]] entries")
    ehrs: list[EhrRegistration] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: [[ehr]] #{number}"
        if not isinstance(entry, dict):
            raise RegistrationError(f"{where}: not a table")
        name = text_value(entry, "name", where, RegistrationError) or ""
        where = f"{path}: EHR {name!r}"
        issuer = _http_url(text_value(entry, "issuer", where, RegistrationError) or "", "issuer", where)
        if any(ehr.issuer == issuer for ehr in ehrs):
            raise RegistrationError(f"{where}: issuer {issuer} is registered twice")
        origins = _strings(entry, "frame_origins", where)
        ehrs.append(
            EhrRegistration(
                name=name,
                issuer=issuer,
                scopes=_strings(entry, "scopes", where),
                frame_origins=(
                    tuple(origin_of(_http_url(o, "frame_origins", where)) for o in origins)
                    if origins is not None
                    else (origin_of(issuer),)
                ),
                **oauth_client(entry, path, where, RegistrationError),
            )
        )
    return Registrations(tuple(ehrs))
