"""What every command shares: the Typer app, exit codes, the one-line error policy, and the
options several commands take.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
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


def one_line_message(message: str) -> str:
    return " ".join(str(message).split()) or "error"


def fail(message: str, code: int) -> NoReturn:
    text = one_line_message(message)
    if not text.startswith("igwatch:"):
        text = f"igwatch: {text}"
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    raise typer.Exit(code)


def debug_enabled() -> bool:
    return os.environ.get("IGWATCH_DEBUG", "").strip() not in ("", "0", "false", "no")


def guard(body: Callable[[], None]) -> None:
    """Run a command body with the exit-code policy: refused input 2, anything else 1."""
    try:
        body()
    except (typer.Exit, typer.Abort, BrokenPipeError, KeyboardInterrupt):
        raise
    except IgwatchError as error:
        if debug_enabled():
            traceback.print_exc()
        fail(str(error), EXIT_REFUSED)
    except Exception as error:
        if debug_enabled():
            traceback.print_exc()
        detail = str(error).strip()
        hint = "" if debug_enabled() else " (IGWATCH_DEBUG=1 shows the trace)"
        fail(f"internal error: {type(error).__name__}{': ' + detail if detail else ''}{hint}", EXIT_ERROR)


def chosen_profile(name_or_path: str) -> Profile:
    from igwatch.knowledge.profile import load_profile

    # A path names a site profile; the loader refuses (ProfileError) with the file and the key.
    return load_profile(name_or_path)


def input_path(file: str) -> Path:
    path = Path(file)
    if not path.exists():
        raise InputRefused(f"{file}: no such file")
    if path.is_dir():
        raise InputRefused(f"{file}: is a directory, not a FHIR Bundle or NDJSON file")
    if not os.access(path, os.R_OK):
        raise InputRefused(f"{file}: cannot be read (permission denied)")
    return path


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def shipped_knowledge() -> Knowledge:
    from igwatch.knowledge.catalog import knowledge

    return knowledge()


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
