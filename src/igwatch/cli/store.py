"""The patient store: ``load`` (an export into the database) and ``audit`` (the audit trail)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from igwatch.clock import parse_date

if TYPE_CHECKING:
    pass
from igwatch.cli.common import DatabaseOption, app, guard, one_line_message

HELP_PANEL = "Patient store"


@app.command(rich_help_panel=HELP_PANEL)
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
                sys.stderr.write(f"igwatch: note: {one_line_message(note)}\n")
            if len(report.issues) > 20:
                sys.stderr.write(f"igwatch: note: … {len(report.issues) - 20} more notes\n")
            sys.stdout.write(
                f"loaded {report.files} file(s): {report.patients} patient(s), {report.resources} resource(s)"
                f" into {database.display_url}\n"
            )
        finally:
            database.close()

    guard(body)


@app.command(rich_help_panel=HELP_PANEL)
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

    guard(body)
