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

import difflib
import json
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from igwatch import __version__
from igwatch.errors import IgwatchError, InputRefused

if TYPE_CHECKING:
    from igwatch.knowledge.catalog import Knowledge
    from igwatch.knowledge.profile import Profile

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED = 2

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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


def parse_date(value: str, where: str) -> date:
    """A strict YYYY-MM-DD date; anything else is refused, naming ``where`` it came from."""
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InputRefused(f"{where} {value!r}: not a valid date (YYYY-MM-DD)")


def today() -> date:
    """The real today, or ``IGWATCH_TODAY`` when set (for tests)."""
    override = os.environ.get("IGWATCH_TODAY", "").strip()
    if override:
        return parse_date(override, "IGWATCH_TODAY")
    return date.today()


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
        if key.lower() in kb.catalog:
            chosen = _profile(profile)
            from igwatch.render.text import print_explain_recommendation

            print_explain_recommendation(kb.catalog[key.lower()], kb, chosen)
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
