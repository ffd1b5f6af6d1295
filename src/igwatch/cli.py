"""The igwatch command line (contract §3).

Commands built here: ``assess``, ``dose``, ``rules`` and ``explain``. Every command exits 0 when
done; 2 when the input is refused (not FHIR, no or several patients without ``--patient``, an
unknown ``--patient``, a missing file, a bad ``--as-of``, a profile that does not validate, an
unknown id for ``explain``), with one line on stderr saying what and where; 1 for anything else,
also one line. No stack trace is shown unless ``IGWATCH_DEBUG=1``. Typer's own usage errors keep
their exit code 2.

``IGWATCH_TODAY`` (YYYY-MM-DD) replaces the real today, and is the default ``--as-of``.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from igwatch import __version__
from igwatch.clock import parse_date, today
from igwatch.errors import IgwatchError, InputRefused

if TYPE_CHECKING:
    from igwatch.knowledge.catalog import Knowledge
    from igwatch.knowledge.profile import Profile

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED = 2


class AssessFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class PlainFormat(StrEnum):
    text = "text"
    json = "json"


class Sex(StrEnum):
    male = "male"
    female = "female"


app = typer.Typer(
    name="igwatch",
    help="Clinical decision support for immunoglobulin monitoring and replacement "
    "(anti-CD20 therapy such as ofatumumab; primary IgM deficiency).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --------------------------------------------------------------------------------------------
# Errors, exit codes, dates
# --------------------------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(str(message).split()) or "error"


def _fail(message: str, code: int) -> NoReturn:
    text = _one_line(message)
    if not text.startswith("igwatch:"):
        text = f"igwatch: {text}"
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def _debug() -> bool:
    return os.environ.get("IGWATCH_DEBUG", "").strip() not in ("", "0", "false", "no")


def _guard(body: Callable[[], None]) -> None:
    """Run a command body with the exit-code policy: refused input 2, anything else 1."""
    try:
        body()
    except (typer.Exit, typer.Abort, BrokenPipeError, KeyboardInterrupt):
        raise
    except IgwatchError as error:
        if _debug():
            traceback.print_exc()
        _fail(str(error), EXIT_REFUSED)
    except Exception as error:
        if _debug():
            traceback.print_exc()
        detail = str(error).strip()
        hint = "" if _debug() else " (IGWATCH_DEBUG=1 shows the trace)"
        _fail(f"internal error: {type(error).__name__}{': ' + detail if detail else ''}{hint}", EXIT_ERROR)


def _profile(name_or_path: str) -> Profile:
    from igwatch.knowledge.profile import load_profile

    # A path names a site profile; the loader refuses (ProfileError) with the file and the key.
    return load_profile(name_or_path)


def _input_file(file: str) -> Path:
    path = Path(file)
    if not path.exists():
        raise InputRefused(f"{file}: no such file")
    if path.is_dir():
        raise InputRefused(f"{file}: is a directory, not a FHIR Bundle or NDJSON file")
    if not os.access(path, os.R_OK):
        raise InputRefused(f"{file}: cannot be read (permission denied)")
    return path


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _knowledge() -> Knowledge:
    from igwatch.knowledge.catalog import knowledge

    return knowledge()


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


#: ``--db`` of the commands that use the store.
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="sqlite:///PATH or postgresql://… (default: igwatch.db in the user data folder).",
    ),
]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"igwatch {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Clinical decision support for immunoglobulin monitoring and replacement."""


@app.command()
def assess(
    file: Annotated[str, typer.Argument(metavar="FILE", help="FHIR R4 Bundle or NDJSON of one patient.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Assess as of this date (default: today, or IGWATCH_TODAY when set).",
        ),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
    patient: Annotated[
        str | None,
        typer.Option("--patient", metavar="ID", help="The Patient to assess when the input holds several."),
    ] = None,
    output_format: Annotated[
        AssessFormat, typer.Option("--format", help="text for a person, json (contract §2), html to print.")
    ] = AssessFormat.text,
) -> None:
    """One patient's assessment."""

    def body() -> None:
        real_today = today()
        when = parse_date(as_of, "--as-of") if as_of is not None else real_today
        chosen = _profile(profile)
        path = _input_file(file)

        from igwatch.engine import assess as run_assessment
        from igwatch.fhir.ingest import load_timeline

        try:
            timeline = load_timeline(path, patient_id=patient)
        except OSError as error:
            raise InputRefused(f"{file}: cannot be read ({error.strerror or error})") from None
        result = run_assessment(timeline, when, chosen, today=real_today)

        if output_format is AssessFormat.json:
            _print_json(result.to_dict())
        elif output_format is AssessFormat.html:
            from igwatch.render.html import assessment_html

            sys.stdout.write(assessment_html(result))
            sys.stdout.flush()
        else:
            from igwatch.render.text import print_assessment

            print_assessment(result)

    _guard(body)


@app.command()
def dose(
    weight_kg: Annotated[float, typer.Option("--weight-kg", metavar="W", help="Body weight in kilograms.")],
    height_cm: Annotated[
        float | None,
        typer.Option("--height-cm", metavar="H", help="Height in cm (for adjusted weight when obese)."),
    ] = None,
    sex: Annotated[Sex | None, typer.Option("--sex", help="Sex (for ideal body weight when obese).")] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
    output_format: Annotated[PlainFormat, typer.Option("--format", help="text or json.")] = PlainFormat.text,
) -> None:
    """The immune globulin dose block alone (IVIG, SCIG, trough target)."""

    def body() -> None:
        if not math.isfinite(weight_kg) or weight_kg <= 0:
            raise InputRefused(f"--weight-kg {weight_kg:g}: must be a positive number of kilograms")
        if height_cm is not None and (not math.isfinite(height_cm) or height_cm <= 0):
            raise InputRefused(f"--height-cm {height_cm:g}: must be a positive number of centimetres")
        chosen = _profile(profile)

        from igwatch.dosing import dose_block

        block, issues = dose_block(weight_kg, height_cm, sex.value if sex else None, chosen)
        if output_format is PlainFormat.json:
            _print_json(
                {
                    **block.to_dict(),
                    "profile": chosen.name,
                    "data_issues": [
                        {"severity": i.severity, "code": i.code, "message": i.message, "resource": i.resource}
                        for i in issues
                    ],
                }
            )
        else:
            from igwatch.render.text import print_dose

            print_dose(block, issues, chosen)

    _guard(body)


def catalog_json(kb: Knowledge) -> dict[str, Any]:
    """``igwatch rules --format json``: the catalog in order, and the statements it cites."""
    cited = {sid for entry in kb.catalog.values() for sid in entry.statements}
    return {
        "recommendations": [
            {
                "id": e.id,
                "title": e.title,
                "area": e.area,
                "population": e.population,
                "priority": e.priority,
                "priority_rule": e.priority_rule,
                "fires_when": e.fires_when,
                "summary": e.summary,
                "statements": list(e.statements),
                "parameters": list(e.parameters),
                "reason_codes": list(e.reason_codes),
            }
            for e in kb.catalog.values()
        ],
        "statements": [
            {
                "id": s.id,
                "document": s.document,
                "section": s.section,
                "summary": s.summary,
                "citations": list(s.citations),
                "cited": s.id in cited,
            }
            for s in kb.statements.values()
        ],
    }


@app.command()
def rules(
    output_format: Annotated[PlainFormat, typer.Option("--format", help="text or json.")] = PlainFormat.text,
) -> None:
    """The recommendation catalog: id, population, priority, statements, when it fires."""

    def body() -> None:
        kb = _knowledge()
        if output_format is PlainFormat.json:
            _print_json(catalog_json(kb))
        else:
            from igwatch.render.text import print_catalog

            print_catalog(kb)

    _guard(body)


@app.command()
def hook(
    request_file: Annotated[str, typer.Argument(metavar="REQUEST.json", help="A CDS Hooks request (JSON).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Answer as of this date (default: today)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
) -> None:
    """Answer a CDS Hooks request from a file, exactly as the service would (no token offline)."""

    def body() -> None:
        real_today = today()
        when = parse_date(as_of, "--as-of") if as_of is not None else real_today
        chosen = _profile(profile)
        path = _input_file(request_file)
        try:
            request = json.loads(path.read_bytes())
        except ValueError as error:
            raise InputRefused(f"{request_file}: not valid JSON ({error})") from None

        from igwatch.cdshooks.cards import answer

        _print_json(answer(request, when, chosen, today=real_today))

    _guard(body)


@app.command()
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
            profile=_profile(profile),
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

    _guard(body)


@app.command("hash-password")
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

    _guard(body)


@app.command()
def explain(
    identifier: Annotated[
        str, typer.Argument(metavar="ID", help="A recommendation id (igrt.start) or a statement id (K-8).")
    ],
    profile: Annotated[
        str,
        typer.Option("--profile", metavar="NAME|PATH", help="Show parameter values from this profile."),
    ] = "default",
) -> None:
    """One recommendation in full: when it fires, what it says, its parameters and statements."""

    def body() -> None:
        kb = _knowledge()
        key = identifier.strip()
        recommendation_id = kb.resolve(key.lower())  # a former id (kesimpta.*) is an alias
        if recommendation_id is not None:
            chosen = _profile(profile)
            from igwatch.render.text import print_explain_recommendation

            print_explain_recommendation(kb.catalog[recommendation_id], kb, chosen)
            return
        if key.upper() in kb.statements:
            from igwatch.render.text import print_explain_statement

            print_explain_statement(kb.statements[key.upper()], kb)
            return
        close = difflib.get_close_matches(key.lower(), list(kb.catalog), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `igwatch rules` lists them"
        raise InputRefused(f"explain {identifier!r}: not a recommendation or statement id{hint}")

    _guard(body)


# --------------------------------------------------------------------------------------------
# Population screen (contract §5)
# --------------------------------------------------------------------------------------------


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@app.command("terminology-report")
def terminology_report(
    export_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bulk FHIR export directory.")],
    output: Annotated[
        ReportFormat, typer.Option("--format", help="text (a table per kind), json or csv.")
    ] = ReportFormat.text,
    missed_only: Annotated[
        bool, typer.Option("--missed-only", help="List only the codes igwatch does not recognise.")
    ] = False,
) -> None:
    """Which Condition, medication and vaccine codes an export uses, with counts, and whether
    igwatch recognises each (by code, by name, not at all): what a site checks before go-live."""

    def body() -> None:
        from igwatch.fhir.coverage import coverage_report

        report = coverage_report(Path(export_dir))
        if missed_only:
            report.lines = [line for line in report.lines if line.status == "missed"]
        for note in report.notes:
            sys.stderr.write(f"igwatch: note: {_one_line(note)}\n")
        if output is ReportFormat.json:
            _print_json(report.to_dict())
        elif output is ReportFormat.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(["kind", "system", "code", "display", "records", "recognised", "valuesets"])
            for line in report.lines:
                writer.writerow(
                    [
                        line.kind,
                        line.system,
                        line.code,
                        _one_line(line.display),
                        line.count,
                        line.status,
                        ";".join(line.valuesets),
                    ]
                )
        else:
            from igwatch.render.text import print_terminology_report

            print_terminology_report(report)

    _guard(body)


class ScreenEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command()
def screen(
    export_dir: Annotated[str, typer.Argument(metavar="DIR", help="Bulk FHIR export directory (NDJSON).")],
    engine: Annotated[
        ScreenEngine, typer.Option("--engine", help="duckdb (embedded) or spark (local or a cluster).")
    ] = ScreenEngine.duckdb,
    out: Annotated[
        str, typer.Option("--out", metavar="OUT", help="Directory for the worklist and summary.")
    ] = "worklist",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Screen as of this date (default: today)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="CACHE_DIR",
            help="Keep the extracted columns as Parquet here; a re-screen reuses them.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", metavar="URL", help="Spark master (default local[*]).")
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-conf",
            metavar="KEY=VALUE",
            help="A Spark setting (repeatable), e.g. spark.driver.memory=4g; overrides igwatch's.",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", metavar="N", help="DuckDB engine: assess in N processes (0: automatic)."),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    include_deceased: Annotated[
        bool,
        typer.Option(
            "--include-deceased", help="List deceased patients too (never in scope; off by default)."
        ),
    ] = False,
) -> None:
    """Population worklist from a bulk FHIR export (worklist.parquet/.csv, summary.json/.md)."""

    def body() -> None:
        real_today = today()
        when = parse_date(as_of, "--as-of") if as_of is not None else real_today
        chosen = _profile(profile)
        from igwatch.population.screen import ScreenOptions
        from igwatch.population.screen import screen as run_screen

        options = ScreenOptions(
            as_of=when,
            profile=chosen,
            out_dir=Path(out),
            engine=engine.value,
            cache_dir=Path(since) if since else None,
            spark_master=spark_master,
            spark_conf=_spark_settings(spark_conf or []),
            workers=max(0, workers),
            today=real_today,
            show_progress=False if quiet else None,
            include_deceased=include_deceased,
        )
        report = run_screen(Path(export_dir), options)
        summary = report.summary
        for note in summary.get("files_skipped", []):
            sys.stderr.write(f"igwatch: note: {_one_line(note)}\n")
        total = sum(report.timings.values())
        sys.stderr.write(
            f"igwatch: screened {summary['patients_read']:,} patients in {total:.1f} s: "
            f"{summary['patients_in_scope']:,} in scope"
            + (
                f", {summary['patients_not_assessable']:,} not assessable (listed for review)"
                if summary["patients_not_assessable"]
                else ""
            )
            + f"; worklist in {out}\n"
        )

    _guard(body)


def _spark_settings(pairs: list[str]) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` pairs as a mapping; a pair without a key or ``=`` is refused."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputRefused(f"--spark-conf {pair!r}: expected KEY=VALUE, e.g. spark.driver.memory=4g")
        settings[key.strip()] = value.strip()
    return settings


# --------------------------------------------------------------------------------------------
# Trusting an EHR: signing keys and tokens for trials (cds-keygen, cds-token)
# --------------------------------------------------------------------------------------------


class SigningAlgorithm(StrEnum):
    ES384 = "ES384"
    RS384 = "RS384"


@app.command("cds-keygen")
def cds_keygen(
    out: Annotated[
        str, typer.Option("--out", metavar="DIR", help="Directory for private-key.pem and jwks.json.")
    ],
    alg: Annotated[
        SigningAlgorithm, typer.Option("--alg", help="Signing algorithm.")
    ] = SigningAlgorithm.ES384,
    kid: Annotated[
        str | None,
        typer.Option("--kid", metavar="K", help="Key id (default: the key's RFC 7638 thumbprint)."),
    ] = None,
) -> None:
    """Make an EHR signing key: DIR/private-key.pem (0600) and DIR/jwks.json (public key only)."""

    def body() -> None:
        from igwatch.cdshooks.devkeys import write_key_pair

        private_path, jwks_path, key_id = write_key_pair(out, alg=alg.value, kid=kid)
        sys.stderr.write(f"wrote {private_path} (private, keep it secret) and {jwks_path} (kid {key_id})\n")
        sys.stdout.write(
            "# trusted clients file for `igwatch serve --cds-clients clients.toml`\n"
            "[[client]]\n"
            'iss = "https://ehr.example.org"  # the EHR\'s issuer, as in its tokens\n'
            f"jwks = {json.dumps(str(jwks_path.resolve()))}  # or the EHR's https JWK Set URL\n"
            f'algorithms = ["{alg.value}"]\n'
            '# client_id = "https://ehr.example.org"  # optional: the sub its tokens must carry\n'
            "# the FHIR bases it may name as fhirServer (none: missing prefetch is never fetched)\n"
            '# fhir_servers = ["https://ehr.example.org/fhir"]\n'
        )

    _guard(body)


@app.command("cds-token")
def cds_token(
    key: Annotated[str, typer.Option("--key", metavar="PEM", help="The private key (from cds-keygen).")],
    iss: Annotated[str, typer.Option("--iss", metavar="ISS", help="Issuer: the iss of a trusted client.")],
    aud: Annotated[
        str, typer.Option("--aud", metavar="URL", help="The full URL of the service called (the aud check).")
    ],
    kid: Annotated[
        str | None,
        typer.Option("--kid", metavar="K", help="Key id (default: the key's thumbprint, as keygen)."),
    ] = None,
    ttl: Annotated[
        int, typer.Option("--ttl", metavar="SECONDS", help="Lifetime (the service allows ≤ 300).")
    ] = 300,
    tenant: Annotated[
        str | None, typer.Option("--tenant", metavar="T", help="Optional tenant claim.")
    ] = None,
    sub: Annotated[
        str | None, typer.Option("--sub", metavar="S", help="Client id (default: the issuer).")
    ] = None,
) -> None:
    """Print a signed CDS Hooks client token (JWT, alg from the key type) for one call."""

    def body() -> None:
        from igwatch.cdshooks.devkeys import load_private_key, mint_token

        if ttl <= 0:
            raise InputRefused(f"--ttl {ttl}: must be a positive number of seconds")
        private_key = load_private_key(key)
        sys.stdout.write(
            mint_token(private_key, iss=iss, aud=aud, kid=kid, ttl_s=ttl, tenant=tenant, sub=sub) + "\n"
        )

    _guard(body)


class SynthOutputFormat(StrEnum):
    ndjson = "ndjson"
    bundles = "bundles"


@app.command()
def synth(
    out: Annotated[
        str | None, typer.Argument(metavar="OUT", help="New or empty output directory.", show_default=False)
    ] = None,
    patients: Annotated[int, typer.Option("--patients", metavar="N", help="Number of patients.")] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", help="Seed: the same seed gives the same files.")
    ] = 0,
    out_option: Annotated[
        str | None, typer.Option("--out", metavar="DIR", help="Output directory (instead of OUT).")
    ] = None,
    output_format: Annotated[
        SynthOutputFormat,
        typer.Option("--format", help="ndjson: a bulk FHIR export; bundles: one Bundle per patient."),
    ] = SynthOutputFormat.ndjson,
    gzip: Annotated[bool, typer.Option("--gzip", help="Compress every file (.gz).")] = False,
    max_per_file: Annotated[
        int,
        typer.Option(
            "--max-resources-per-file", metavar="M", help="Split a resource type every M resources."
        ),
    ] = 250_000,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", "--start-date", metavar="YYYY-MM-DD", help="The date the cohort is anchored to."
        ),
    ] = "2026-10-15",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", metavar="W", help="Worker processes (default: the CPUs for large cohorts)."
        ),
    ] = None,
    in_scope: Annotated[
        float | None,
        typer.Option(
            "--in-scope-share",
            metavar="F",
            help="Share of patients in scope (anti-CD20 or IgM deficiency); a health system is about "
            "0.01; default 0.31 (enriched, to exercise every rule).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Write a deterministic synthetic cohort (bulk FHIR NDJSON export or per-patient bundles)."""

    def body() -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from igwatch.synth import generate
        from igwatch.synth.params import DEFAULT_REALISM, with_in_scope_share

        realism = DEFAULT_REALISM
        if in_scope is not None:
            try:
                realism = with_in_scope_share(in_scope)
            except ValueError as error:
                raise InputRefused(f"--in-scope-share {in_scope:g}: {error}") from None
        target = out_option or out
        if target is None:
            raise InputRefused("synth: give the output directory (OUT or --out DIR)")
        anchor = parse_date(as_of, "--as-of")
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]synth[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("patients"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
            transient=False,
        ) as bar:
            task = bar.add_task("synth", total=patients)
            report = generate(
                target,
                patients,
                seed,
                "bundles" if output_format is SynthOutputFormat.bundles else "ndjson",
                gzip,
                max_per_file,
                anchor,
                progress=lambda n: bar.advance(task, n),
                workers=workers,
                realism=realism,
            )
        rate = report.patients / report.seconds if report.seconds > 0 else 0.0
        if not quiet:
            console.print(
                f"{report.patients} patients, {report.total_resources} resources, "
                f"{len(report.files) or report.patients} files in {target} "
                f"({report.seconds:.1f} s, {rate:,.0f} patients/s)"
            )

    _guard(body)


@app.command()
def load(
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH", help="A FHIR Bundle, an NDJSON file (.gz too) or a bulk export directory."
        ),
    ],
    db: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Load patients' FHIR data into the database (one transaction: all of it or nothing)."""

    def body() -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from igwatch.store import Database, LoadProgress, load_path

        database = Database(db)
        try:
            database.migrate()
            bar = Progress(
                TextColumn("[bold]load[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files, {task.fields[resources]:,} resources"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                disable=quiet,
            )
            task = bar.add_task("", total=None, resources=0)
            stored_before = 0

            def show(step: LoadProgress) -> None:
                nonlocal stored_before
                bar.start()  # only once a file is read: a refused input shows just its message
                bar.update(
                    task,
                    description=step.path.name,
                    total=step.file_count,
                    completed=step.file_number - (0 if step.done else 1),
                    resources=stored_before + step.resources,
                )
                if step.done:
                    stored_before += step.resources

            try:
                report = load_path(database, path, progress=show)
            finally:
                if bar.live.is_started:
                    bar.stop()
            import getpass

            from igwatch.store import record_audit

            record_audit(
                database,
                actor=getpass.getuser(),
                actor_source="cli",
                action="load",
                detail=f"{report.patients} patient(s), {report.resources} resource(s) from {Path(path).name}",
            )
            for note in report.issues[:20]:
                sys.stderr.write(f"igwatch: note: {_one_line(note)}\n")
            if len(report.issues) > 20:
                sys.stderr.write(f"igwatch: note: … {len(report.issues) - 20} more notes\n")
            sys.stdout.write(
                f"loaded {report.files} file(s): {report.patients} patient(s), {report.resources} resource(s)"
                f" into {database.display_url}\n"
            )
        finally:
            database.close()

    _guard(body)


@app.command()
def audit(
    db: DatabaseOption = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="YYYY-MM-DD", help="Only entries from this day on (UTC).")
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", metavar="ID", help="Only entries about this patient.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", metavar="WHO", help="Only entries by this user, identity or client (as recorded)."
        ),
    ] = None,
) -> None:
    """Print the audit trail (logins and record views, with who did them) as FHIR AuditEvent NDJSON."""

    def body() -> None:
        from datetime import UTC, datetime

        from igwatch.store import Database, audit_entries

        start = None
        if since is not None:
            day = parse_date(since, "--since")
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        database = Database(db)
        try:
            database.migrate()
            entries = audit_entries(database, start, patient_id=patient, actor=user)
            for number, entry in enumerate(entries, start=1):
                sys.stdout.write(json.dumps(entry.to_fhir(number), separators=(",", ":")) + "\n")
        finally:
            database.close()

    _guard(body)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``igwatch``)."""
    try:
        app(args=argv, prog_name="igwatch")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("igwatch: interrupted\n")
        sys.exit(130)
    except Exception as error:  # anything that escaped a command's own guard
        if _debug():
            traceback.print_exc()
        sys.stderr.write(f"igwatch: internal error: {_one_line(f'{type(error).__name__}: {error}')}\n")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
