"""Commands about one patient: ``assess`` (contract §3) and ``dose``."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from igwatch.clock import parse_date, today
from igwatch.errors import InputRefused

if TYPE_CHECKING:
    pass
from igwatch.cli.common import (
    AssessFormat,
    PlainFormat,
    Sex,
    app,
    chosen_profile,
    guard,
    input_path,
    print_json,
)

HELP_PANEL = "One patient"


@app.command(rich_help_panel=HELP_PANEL)
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
        chosen = chosen_profile(profile)
        path = input_path(file)

        from igwatch.engine import assess as run_assessment
        from igwatch.fhir.ingest import load_timeline

        try:
            timeline = load_timeline(path, patient_id=patient)
        except OSError as error:
            raise InputRefused(f"{file}: cannot be read ({error.strerror or error})") from None
        result = run_assessment(timeline, when, chosen, today=real_today)

        if output_format is AssessFormat.json:
            print_json(result.to_dict())
        elif output_format is AssessFormat.html:
            from igwatch.render.html import assessment_html

            sys.stdout.write(assessment_html(result))
            sys.stdout.flush()
        else:
            from igwatch.render.text import print_assessment

            print_assessment(result)

    guard(body)


@app.command(rich_help_panel=HELP_PANEL)
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
        chosen = chosen_profile(profile)

        from igwatch.dosing import dose_block

        block, issues = dose_block(weight_kg, height_cm, sex.value if sex else None, chosen)
        if output_format is PlainFormat.json:
            print_json(
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

    guard(body)
