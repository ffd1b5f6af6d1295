"""Fixtures every test folder may use: ``browser`` and ``page`` (Chromium via Playwright)."""

pytest_plugins = ["tests.support.browser"]
