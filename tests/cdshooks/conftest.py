"""A real igwatch CDS Hooks server for the tests of this folder (one per xdist worker).

``cds_server`` is the base URL of a server in ``--insecure-dev-no-auth`` mode answering as of
``AS_OF``, with its own SQLite file; tests that need other settings start their own server
with :func:`tests.support.servers.start_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.support.servers import dev_settings, start_server

AS_OF = date(2026, 10, 15)


@pytest.fixture(scope="session")
def cds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = dev_settings(tmp_path_factory.mktemp("cds-server"), as_of=AS_OF, fhir_timeout_s=2.0)
    with start_server(settings) as base_url:
        yield base_url
