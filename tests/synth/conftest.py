"""Shared helpers for the synthetic-cohort tests: small cohorts, generated once per module."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

AS_OF = "2026-10-15"


def read_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
