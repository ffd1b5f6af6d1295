"""The demo cohort for ``igwatch serve --demo``: synthetic patients covering every recommendation.

The patients are FHIR Bundles (one per file in ``bundles/``) chosen from the project's clinical
vignettes so that, assessed together on :data:`DEMO_AS_OF`, they fire every catalog id
(``manifest.json`` lists each file and the ids it fires). All vignettes are written for the same
day, so the demo shows every patient as of that day; the as-of picker moves it.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).parent
BUNDLES_DIR = DEMO_DIR / "bundles"
DEMO_AS_OF = date(2026, 10, 15)


def record_firable(fires_when: str) -> bool:
    """False for ids only the order hooks fire (from draft orders): no stored record fires them."""
    return not fires_when.lower().startswith("order hooks only")


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEMO_DIR / "manifest.json").read_text(encoding="utf-8"))
    return data


def demo_files() -> list[Path]:
    return sorted(BUNDLES_DIR.glob("*.json"))


def load_demo(db: Any) -> int:
    """Store every demo patient in ``db``; returns how many files were loaded."""
    from igwatch.store import load_path

    files = demo_files()
    for path in files:
        load_path(db, path)
    return len(files)


def demo_database_url() -> str:
    """A fresh SQLite database in a temporary directory, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="igwatch-demo-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{Path(folder) / 'demo.db'}"
