"""``serve`` (the web app, the CDS Hooks service and the SMART app) and ``hash-password``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from igwatch.clock import parse_date, today
from igwatch.errors import InputRefused

if TYPE_CHECKING:
    pass
from igwatch.cli.common import app, chosen_profile, guard

HELP_PANEL = "Server"


@app.command(rich_help_panel=HELP_PANEL)
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="Base URL clients call (links, JWT aud); default http://HOST:PORT.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", metavar="URL", help="Database URL (default: SQLite in the user data directory)."
        ),
    ] = None,
    cds_clients: Annotated[
        str | None,
        typer.Option(
            "--cds-clients", metavar="FILE", help="Trusted CDS clients (TOML [[client]] iss, jwks)."
        ),
    ] = None,
    insecure_dev_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-dev-no-auth", help="Accept CDS Hooks calls without a token (local trials only)."
        ),
    ] = False,
    dev_fhir_server: Annotated[
        list[str] | None,
        typer.Option(
            "--dev-fhir-server",
            metavar="URL",
            help="With --insecure-dev-no-auth: a FHIR base beyond loopback that fhirServer may name "
            "(repeatable).",
        ),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="Answer as of this date (default: each day's today)."
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Start with the demo patients, as of 2026-10-15 (a temporary database unless --db).",
        ),
    ] = False,
    users: Annotated[
        str | None, typer.Option("--users", metavar="FILE", help="Users file for the web login.")
    ] = None,
    sso: Annotated[
        str | None,
        typer.Option(
            "--sso",
            metavar="FILE",
            help="Single sign-on for the web pages: the hospital's OpenID provider (TOML [sso]).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes (each with its own assessment threads); token ids are shared in the database.",
        ),
    ] = 1,
    smart_ehrs: Annotated[
        str | None,
        typer.Option(
            "--smart-ehrs",
            metavar="FILE",
            help="EHRs igwatch is registered with as a SMART app (TOML [[ehr]] issuer, client_id, ...).",
        ),
    ] = None,
) -> None:
    """Run the CDS Hooks service (and the dashboard) with uvicorn."""

    def body() -> None:
        if cds_clients is None and not insecure_dev_no_auth and not demo:
            raise InputRefused(
                "serve: give --cds-clients FILE (the trusted EHRs), or --insecure-dev-no-auth for a local trial"
            )
        if cds_clients is not None and not Path(cds_clients).is_file():
            raise InputRefused(f"--cds-clients {cds_clients}: no such file")
        from igwatch.cdshooks.fhir_bases import FhirBaseError, normalise_base

        dev_fhir_servers: list[str] = []
        for url in dev_fhir_server or []:
            if not insecure_dev_no_auth:
                raise InputRefused(
                    "--dev-fhir-server: only with --insecure-dev-no-auth (trusted clients list "
                    "theirs as fhir_servers in the --cds-clients file)"
                )
            try:
                dev_fhir_servers.append(normalise_base(url))
            except FhirBaseError as error:
                raise InputRefused(f"--dev-fhir-server {url!r}: {error}") from None
        import logging

        import uvicorn

        from igwatch.app import create_app
        from igwatch.settings import ServerSettings
        from igwatch.web.demo import DEMO_AS_OF, demo_database_url

        today()  # a malformed IGWATCH_TODAY is refused here, not on the first request
        settings = ServerSettings(
            host=host,
            port=port,
            public_url=public_url,
            db_url=db or (demo_database_url() if demo else None),
            cds_clients=Path(cds_clients) if cds_clients else None,
            insecure_dev_no_auth=insecure_dev_no_auth,
            dev_fhir_servers=tuple(dev_fhir_servers),
            profile=chosen_profile(profile),
            as_of=parse_date(as_of, "--as-of") if as_of is not None else (DEMO_AS_OF if demo else None),
            demo=demo,
            users_file=Path(users) if users else None,
            smart_ehrs=Path(smart_ehrs) if smart_ehrs else None,
            sso_config=Path(sso) if sso else None,
        )
        # igwatch's own warnings (401 reasons, the dev-mode warning) beside uvicorn's lines.
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
            return
        if smart_ehrs or sso:
            raise InputRefused(
                "--workers: SMART launches and single sign-on keep their sign-in state in one process; "
                "run them with --workers 1"
            )
        from igwatch.app import SETTINGS_VARIABLE, prepare_database, settings_for_workers

        prepare_database(settings)  # migrated (and the demo loaded) once, before the workers start
        os.environ[SETTINGS_VARIABLE] = settings_for_workers(settings)
        uvicorn.run(
            "igwatch.app:create_app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )

    guard(body)


@app.command("hash-password", rich_help_panel=HELP_PANEL)
def hash_password(
    name: Annotated[
        str | None, typer.Option("--name", metavar="USER", help="Print a [[user]] entry for a users file.")
    ] = None,
) -> None:
    """Hash a password for `igwatch serve --users FILE` (argon2id); the password is read without echo."""

    def body() -> None:
        from igwatch.web.auth import hash_password as make_hash

        if sys.stdin.isatty():
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise InputRefused("hash-password: empty password")
        hashed = make_hash(password)
        if name:
            typer.echo(f'[[user]]\nname = "{name}"\npassword_hash = "{hashed}"')
        else:
            typer.echo(hashed)

    guard(body)
