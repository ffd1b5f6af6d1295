"""docs/recommendations/ is generated from the catalog (scripts/build_docs.py) and must be current."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_docs.py"


def test_the_recommendation_pages_are_current() -> None:
    spec = importlib.util.spec_from_file_location("build_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_docs"] = module
    spec.loader.exec_module(module)
    pages = module.expected_pages()
    assert len(pages) >= 29
    for path, text in pages.items():
        assert path.is_file(), f"{path.name} missing: run scripts/build_docs.py"
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run scripts/build_docs.py"
    on_disk = set((SCRIPT.parents[1] / "docs" / "recommendations").glob("*.md"))
    assert on_disk == set(pages), "a page without a catalog entry: run scripts/build_docs.py"
