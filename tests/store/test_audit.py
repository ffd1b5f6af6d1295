"""The audit trail on SQLite and PostgreSQL: entries kept in order, as FHIR AuditEvents, and
``igwatch audit`` printing them; an upgrade from the first schema keeps the stored data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from igwatch.cli import app
from igwatch.store import Database, audit_entries, record_audit


def test_entries_come_back_in_order_as_audit_events(database_url: str) -> None:
    with Database(database_url) as db:
        db.migrate()
        record_audit(db, actor="nurse", actor_source="local", action="login")
        record_audit(
            db,
            actor="https://idp.example.org u-1",
            actor_source="sso",
            action="patient-view",
            patient_id="p1",
        )
        record_audit(
            db,
            actor="visitor",
            actor_source="local",
            action="login",
            outcome="refused",
            detail="wrong password",
        )
        entries = list(audit_entries(db))
        assert [(e.actor_source, e.action, e.outcome, e.patient_id) for e in entries] == [
            ("local", "login", "success", None),
            ("sso", "patient-view", "success", "p1"),
            ("local", "login", "refused", None),
        ]
        events = [e.to_fhir(n) for n, e in enumerate(entries, start=1)]
        assert events[1]["entity"] == [{"what": {"reference": "Patient/p1"}}]
        assert events[1]["action"] == "R" and events[1]["outcome"] == "0"
        assert events[2]["outcome"] == "4" and events[2]["outcomeDesc"] == "wrong password"
        assert all(e["recorded"].endswith("Z") for e in events)
        later = datetime.now(UTC) + timedelta(days=1)
        assert list(audit_entries(db, since=later)) == []


def test_unknown_actions_are_refused(database_url: str) -> None:
    with Database(database_url) as db:
        db.migrate()
        with pytest.raises(ValueError, match="unknown source, action or outcome"):
            record_audit(db, actor="x", actor_source="local", action="delete-everything")


def test_the_audit_command_prints_ndjson(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with Database(url) as db:
        db.migrate()
        record_audit(db, actor="nurse", actor_source="local", action="summary-pdf", patient_id="p9")
    result = CliRunner().invoke(app, ["audit", "--db", url, "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    (event,) = [json.loads(line) for line in result.output.splitlines()]
    assert event["resourceType"] == "AuditEvent" and event["subtype"][0]["code"] == "summary-pdf"
    refused = CliRunner().invoke(app, ["audit", "--db", url, "--since", "yesterday"])
    assert refused.exit_code == 2 and "--since" in refused.output


def test_upgrading_a_first_schema_database_keeps_its_data(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    from igwatch.store.db import MIGRATIONS

    with Database(database_url) as db:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text(
                    "INSERT INTO patients (id, display_name, source, loaded_at) "
                    "VALUES ('p1', 'Stored Before', 'test', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO cds_feedback (service_id, card_uuid, outcome, accepted_suggestions, "
                    "outcome_timestamp, received_at, client_iss) VALUES ('s', 'c', 'accepted', '[]', "
                    "'2026-10-15T10:00:00Z', CURRENT_TIMESTAMP, 'https://ehr-a.example.org')"
                )
            )
        assert "audit_events" not in inspect(db.engine).get_table_names()
        db.migrate()
        assert "audit_events" in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT display_name FROM patients")).scalars().all() == [
                "Stored Before"
            ]


def test_hook_calls_exports_uploads_and_loads_are_audited(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import getpass
    from pathlib import Path

    import httpx

    from igwatch.cdshooks.fhir_fallback import PREFETCH_TEMPLATES
    from tests.support.servers import dev_settings, start_server

    example = Path(__file__).resolve().parents[2] / "examples" / "ofatumumab-recurrent-hib.json"
    url = f"sqlite:///{tmp_path / 'igwatch-test.db'}"
    loaded = CliRunner().invoke(app, ["load", "--db", url, "--quiet", str(example)])
    assert loaded.exit_code == 0, loaded.output
    bundle = json.loads(example.read_text())
    patient = bundle["entry"][0]["resource"]
    request = {
        "hookInstance": "a",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": patient["id"]},
        # Every other prefetch key null: the EHR has no such data (nothing to fetch).
        "prefetch": {key: None for key in PREFETCH_TEMPLATES} | {"patient": patient},
    }
    with start_server(dev_settings(tmp_path)) as base:
        hook = httpx.post(f"{base}/cds-services/igwatch-patient-view", json=request, timeout=30)
        assert hook.status_code == 200
        assert httpx.get(f"{base}/worklist.csv", timeout=30).status_code == 200
    with Database(url) as db:
        entries = list(audit_entries(db))
        mine = list(audit_entries(db, patient_id=patient["id"]))
        by_user = list(audit_entries(db, actor=getpass.getuser()))
    assert [e.action for e in entries] == ["load", "hook-call", "worklist-export"]
    assert [e.action for e in mine] == ["hook-call"] and mine[0].actor_source == "cds-client"
    assert [e.action for e in by_user] == ["load"] and "1 patient(s)" in (by_user[0].detail or "")
    printed = CliRunner().invoke(app, ["audit", "--db", url, "--patient", patient["id"]])
    assert [json.loads(line)["subtype"][0]["code"] for line in printed.output.splitlines()] == ["hook-call"]
