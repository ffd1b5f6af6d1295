"""Server settings: one frozen object built by ``igwatch serve`` (or a test) and read by the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from igwatch.knowledge.profile import Profile, load_profile
from igwatch.server_guards import BodyLimits


def _default_profile() -> Profile:
    return load_profile("default")


@dataclass(frozen=True)
class ServerSettings:
    """Everything the service needs to start. ``public_url`` is the base URL clients call: it
    builds the links in cards and is the JWT ``aud`` (defaults to ``http://{host}:{port}``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    db_url: str | None = None
    cds_clients: Path | None = None
    insecure_dev_no_auth: bool = False
    # With insecure_dev_no_auth, the FHIR bases (beyond loopback) a request may name as fhirServer.
    dev_fhir_servers: tuple[str, ...] = ()
    profile: Profile = field(default_factory=_default_profile)
    as_of: date | None = None
    fhir_timeout_s: float = 10.0
    # CPU work of a request (JSON parsing, the assessment) runs in a pool of this many threads,
    # never on the event loop, and a request whose work takes longer than the deadline gets 503.
    assess_workers: int = 4
    assess_timeout_s: float = 20.0
    # The largest request bodies read (CDS Hooks, the upload form, other forms): 413 beyond.
    body_limits: BodyLimits = field(default_factory=BodyLimits)
    # 401 log lines a minute at most (then a count): forged tokens must not flood the log.
    unauthorized_log_lines_per_minute: int = 20
    demo: bool = False
    users_file: Path | None = None
    # The EHRs igwatch is registered with as a SMART app (igwatch.smart.registrations).
    smart_ehrs: Path | None = None
    # Single sign-on for the web pages (igwatch.web.sso), beside or instead of users_file.
    sso_config: Path | None = None
    secret_key: str | None = None

    @property
    def base_url(self) -> str:
        """``public_url`` without a trailing slash, or the address the server listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def answer_date(self, today: date) -> date:
        """The date the service answers as of: the configured one, else today."""
        return self.as_of or today
