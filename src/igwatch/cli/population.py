"""The population screen (contract §5): ``screen``, ``terminology-report``, and ``synth`` (a
synthetic export to try them on).
"""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from igwatch.clock import parse_date, today
from igwatch.errors import InputRefused

if TYPE_CHECKING:
    pass
from igwatch.cli.common import app, chosen_profile, guard, one_line_message, print_json

HELP_PANEL = "Population"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@app.command("terminology-report", rich_help_panel=HELP_PANEL)
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
            sys.stderr.write(f"igwatch: note: {one_line_message(note)}\n")
        if output is ReportFormat.json:
            print_json(report.to_dict())
        elif output is ReportFormat.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(["kind", "system", "code", "display", "records", "recognised", "valuesets"])
            for line in report.lines:
                writer.writerow(
                    [
                        line.kind,
                        line.system,
                        line.code,
                        one_line_message(line.display),
                        line.count,
                        line.status,
                        ";".join(line.valuesets),
                    ]
                )
        else:
            from igwatch.render.text import print_terminology_report

            print_terminology_report(report)

    guard(body)


class ScreenEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command(rich_help_panel=HELP_PANEL)
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
        chosen = chosen_profile(profile)
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
            sys.stderr.write(f"igwatch: note: {one_line_message(note)}\n")
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

    guard(body)


def _spark_settings(pairs: list[str]) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` pairs as a mapping; a pair without a key or ``=`` is refused."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputRefused(f"--spark-conf {pair!r}: expected KEY=VALUE, e.g. spark.driver.memory=4g")
        settings[key.strip()] = value.strip()
    return settings


class SynthOutputFormat(StrEnum):
    ndjson = "ndjson"
    bundles = "bundles"


@app.command(rich_help_panel=HELP_PANEL)
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

    guard(body)
