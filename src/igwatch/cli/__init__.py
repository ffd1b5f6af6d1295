"""The igwatch command line (contract §3).

One module an area: :mod:`.patient` (``assess``, ``dose``), :mod:`.knowledge` (``rules``,
``explain``), :mod:`.cds_hooks` (``hook``, ``cds-keygen``, ``cds-token``), :mod:`.server`
(``serve``, ``hash-password``), :mod:`.population` (``screen``, ``terminology-report``, ``synth``)
and :mod:`.store` (``load``, ``audit``); :mod:`.common` holds the app and the exit-code policy.

Every command exits 0 when done; 2 when the input is refused (not FHIR, no or several patients
without ``--patient``, an unknown ``--patient``, a missing file, a bad ``--as-of``, a profile that
does not validate, an unknown id for ``explain``), with one line on stderr saying what and where;
1 for anything else, also one line. No stack trace is shown unless ``IGWATCH_DEBUG=1``. Typer's
own usage errors keep their exit code 2.

``IGWATCH_TODAY`` (YYYY-MM-DD) replaces the real today, and is the default ``--as-of``.
"""

from __future__ import annotations

import sys
import traceback

# Importing an area's module registers its commands on ``app``.
from igwatch.cli import cds_hooks, knowledge, patient, population, server, store
from igwatch.cli.common import EXIT_ERROR, app, debug_enabled, one_line_message

__all__ = ["app", "main"]

#: The areas in the order ``igwatch --help`` lists them: a clinician's commands first.
AREAS = (patient, knowledge, cds_hooks, server, population, store)
app.registered_commands.sort(key=lambda command: AREAS.index(sys.modules[command.callback.__module__]))


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
        if debug_enabled():
            traceback.print_exc()
        sys.stderr.write(f"igwatch: internal error: {one_line_message(f'{type(error).__name__}: {error}')}\n")
        sys.exit(EXIT_ERROR)
