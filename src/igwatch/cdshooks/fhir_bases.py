"""FHIR server base URLs: which ``fhirServer`` a CDS client may send the service to.

The prefetch fallback sends the EHR's bearer token to ``fhirServer`` and reads whatever it
answers, so a caller who could name any URL could make the service fetch from internal addresses
or hand the token to another host. Each trusted client lists the FHIR bases it may name
(``fhir_servers``); a URL is allowed when it lies under one of them.

URLs are compared as httpx, the client that makes the requests, parses them: scheme and host
lowercase, the default port implied, dot segments removed, escapes of unreserved characters
decoded, no trailing slash. A URL with user info is refused (``https://ehr.example.org@evil/`` is
a request to ``evil``), as is a path segment that a server could still turn into ``..`` or a
slash (``%2e%2e``, ``%2f``). "Under" means the same scheme, host and port and a path equal to
the base's or continuing it after a ``/`` (``/fhirx`` is not under ``/fhir``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class FhirBaseError(ValueError):
    """A URL that cannot be a FHIR server base (or a link under one); the message says why."""


@dataclass(frozen=True)
class FhirBase:
    """A normalised http(s) location: ``path`` has no trailing slash (``""`` for the root)."""

    scheme: str
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"

    def contains(self, other: FhirBase) -> bool:
        """Whether ``other`` is this base or lies under it (on a path segment boundary)."""
        if (other.scheme, other.host, other.port) != (self.scheme, self.host, self.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")

    @property
    def is_loopback(self) -> bool:
        if self.host in _LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _segment(raw: str) -> str:
    """One path segment with unreserved escapes decoded and the others in upper case."""

    def unescape(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    segment = _ESCAPE.sub(unescape, raw)
    if segment in (".", ".."):
        # httpx removes literal dot segments; an escaped one would reach the server, which may
        # resolve it and step out of the base.
        raise FhirBaseError("has a '.' or '..' path segment")
    if "%2F" in segment or "%5C" in segment:
        raise FhirBaseError("has an escaped slash in its path")
    return segment


def parse_fhir_url(url: str, *, with_query: bool = False) -> FhirBase:
    """The normalised location of an absolute http(s) URL.

    A base (``with_query=False``) may carry no query or fragment; a link (``with_query=True``,
    e.g. a search's next page) may, and they are ignored here. User info is always refused.
    """
    if not isinstance(url, str) or not url.strip():
        raise FhirBaseError("is not a URL")
    if "\\" in url or any(ord(char) < 0x21 for char in url.strip()):
        raise FhirBaseError("has a backslash, a space or a control character")
    try:
        parsed = httpx.URL(url.strip())
        raw_path = parsed.raw_path.decode("ascii").split("?", 1)[0]
        host = parsed.raw_host.decode("ascii").lower()
        port = parsed.port
    except (httpx.InvalidURL, ValueError, UnicodeError, TypeError):
        raise FhirBaseError("is not a valid URL") from None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise FhirBaseError("is not an absolute http(s) URL")
    if parsed.userinfo:
        raise FhirBaseError("carries user info (user@host)")
    if not with_query and (parsed.query or parsed.fragment):
        raise FhirBaseError("has a query or fragment (a base URL has neither)")
    if "%" in host:
        raise FhirBaseError("has an escaped host name")
    path = "/".join(_segment(segment) for segment in raw_path.split("/")).rstrip("/")
    return FhirBase(scheme=scheme, host=host, port=port or _DEFAULT_PORTS[scheme], path=path)


def normalise_base(url: str) -> str:
    """``url`` as the normalised base it names (refused with :class:`FhirBaseError`)."""
    return str(parse_fhir_url(url))


@dataclass(frozen=True)
class FhirServerAllowlist:
    """The FHIR bases one caller may name as ``fhirServer``.

    ``bases`` are base URLs; ``any_loopback`` also allows any loopback server (the
    ``--insecure-dev-no-auth`` trial mode, where there is no client to configure). ``refusal``
    says, in the 412 diagnostics, why a server not on the list was refused.
    """

    bases: tuple[str, ...] = ()
    any_loopback: bool = False
    refusal: str = "fhirServer is not allowed for this client"

    def allowed_base(self, fhir_server: str) -> str | None:
        """The allowed base ``fhir_server`` lies under (itself for a loopback trial server), or None."""
        try:
            location = parse_fhir_url(fhir_server)
        except FhirBaseError:
            return None
        for base in self.bases:
            allowed = parse_fhir_url(base)
            if allowed.contains(location):
                return str(allowed)
        if self.any_loopback and location.is_loopback:
            return str(location)
        return None
