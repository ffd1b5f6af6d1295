"""The security and reliability probe, re-run: each finding of the hardening review against a real
``igwatch serve`` process, with the figures the review gave (time, RSS, status).

    .venv/bin/python benchmarks/security_probe.py     # about two minutes; writes results/security_probe.json

Every server is a subprocess on loopback, measured from outside: wall time of requests, the
server's resident memory from /proc (VmRSS now, VmHWM peak), its stderr (stack traces, log lines).
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.jwt_keys import es384_client, write_clients_file  # noqa: E402

from igwatch.cdshooks.cards import PREFETCH_KEYS  # noqa: E402
from igwatch.web.auth import hash_password  # noqa: E402

IGWATCH = str(Path(sys.executable).with_name("igwatch"))
EXAMPLE = ROOT / "examples" / "ofatumumab-recurrent-hib.json"
RESULTS = ROOT / "benchmarks" / "results" / "security_probe.json"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


class Server:
    def __init__(self, process: subprocess.Popen[bytes], base: str, stderr: Path) -> None:
        self.process, self.base, self.stderr_path = process, base, stderr

    @property
    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextmanager
def serve(folder: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    stderr = folder / f"serve-{port}.log"
    command = [IGWATCH, "serve", "--port", str(port), "--db", f"sqlite:///{folder / f'{port}.db'}", *args]
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            command, stdout=err, stderr=err, env={**os.environ, "IGWATCH_TODAY": "2026-10-15", **(env or {})}
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/favicon.ico", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        try:
            yield Server(process, base, stderr)
        finally:
            process.terminate()
            process.wait(timeout=30)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, round(time.perf_counter() - start, 3)


def csrf_of(client: httpx.Client, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "no CSRF token on " + path
    return match.group(1)


def patient_view(observations: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = json.loads(EXAMPLE.read_text())
    patient = bundle["entry"][0]["resource"]
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": o} for o in observations],
    }
    keys = [key for key in PREFETCH_KEYS if key not in ("patient", "observations")]
    return {
        "hookInstance": "probe",
        "hook": "patient-view",
        "context": {"userId": "Practitioner/1", "patientId": patient["id"]},
        "prefetch": {"patient": patient, "observations": searchset, **{k: None for k in keys}},
    }


def igm(number: int, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{number}",
        "status": "final",
        "subject": {"reference": "Patient/example-ofatumumab-hib"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "2472-0"}]},
        "effectiveDateTime": "2026-09-30",
        "valueQuantity": {"value": 24, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


# ------------------------------------------------------------------------------------ findings


def probe_stall(folder: Path) -> dict[str, Any]:
    """1. A small request while a hostile one (long units) and a big valid one are in flight."""
    hostile = json.dumps(patient_view([igm(n, "mg/dL." * 3900) for n in range(8)])).encode()
    big = json.dumps(patient_view([igm(n, "mg/dL") for n in range(90_000)])).encode()
    with serve(folder, "--insecure-dev-no-auth") as server, httpx.Client(timeout=120) as client:
        url = f"{server.base}/cds-services/igwatch-patient-view"
        headers = {"Content-Type": "application/json"}

        def small() -> float:
            return timed(lambda: client.get(f"{server.base}/cds-services"))[1]

        baseline = [small() for _ in range(20)]
        results: dict[str, Any] = {}
        for name, body in (("hostile_units_381KiB", hostile), ("valid_big", big)):
            box: dict[str, Any] = {}

            def send(body: bytes = body, box: dict[str, Any] = box) -> None:
                with httpx.Client(timeout=120) as other:
                    response, seconds = timed(lambda: other.post(url, content=body, headers=headers))
                box["status"], box["seconds"] = response.status_code, seconds

            thread = threading.Thread(target=send)
            thread.start()
            time.sleep(0.05)
            during = []
            while thread.is_alive():
                during.append(small())
            thread.join()
            results[name] = {
                "body_MiB": round(len(body) / 2**20, 2),
                **box,
                "small_requests_during": len(during),
                "small_max_s": max(during) if during else None,
            }
        results["small_baseline_median_s"] = round(statistics.median(baseline), 4)
        return results


def probe_gzip_bombs(folder: Path) -> dict[str, Any]:
    """2. A 1 MB .json.gz inflating to 1 GiB, uploaded and loaded."""
    bomb = folder / "bomb.json.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(b'{"resourceType": "Bundle", "type": "collection", "entry": [')
        chunk = b" " * 2**20
        for _ in range(1024):
            out.write(chunk)
        out.write(b"]}")
    ndjson_bomb = folder / "bomb.ndjson.gz"
    with gzip.open(ndjson_bomb, "wb", compresslevel=9) as out:
        out.write(b'{"resourceType": "Patient", "id": "p", "x": "')
        for _ in range(1024):
            out.write(b"a" * 2**20)
        out.write(b'"}\n')
    results: dict[str, Any] = {"bomb_file_MB": round(bomb.stat().st_size / 1e6, 2)}
    with (
        serve(folder, "--insecure-dev-no-auth") as server,
        httpx.Client(base_url=server.base, timeout=300) as client,
    ):
        before = memory_mb(server.process.pid)
        for path in (bomb, ndjson_bomb):
            token = csrf_of(client)
            with path.open("rb") as handle:
                response, seconds = timed(
                    lambda handle=handle, path=path, token=token: client.post(
                        "/upload", data={"csrf_token": token}, files={"file": (path.name, handle)}
                    )
                )
            message = re.search(r'class="error"[^>]*>([^<]+)<', response.text)
            results[f"upload_{path.name}"] = {
                "status": response.status_code,
                "seconds": seconds,
                "message": message.group(1).strip() if message else None,
            }
        results["server_MB_before"] = before
        results["server_MB_after"] = memory_mb(server.process.pid)
    for path in (bomb, ndjson_bomb):
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, resource; from igwatch.cli import main\n"
                "try:\n    main(sys.argv[1:])\nfinally:\n"
                "    print('VmHWM', open('/proc/self/status').read().split('VmHWM:')[1].split()[0], file=sys.stderr)",
                "load",
                "--quiet",
                "--db",
                f"sqlite:///{folder / 'load.db'}",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        peak = re.search(r"VmHWM (\d+)", done.stderr)
        results[f"load_{path.name}"] = {
            "exit": done.returncode,
            "seconds": round(time.perf_counter() - start, 2),
            "peak_MB": round(int(peak.group(1)) / 1024, 1) if peak else None,
            "message": done.stderr.splitlines()[0] if done.stderr else "",
        }
    return results


def probe_exposure(folder: Path) -> dict[str, Any]:
    """3. --public-url without a login; a foreign Host header (DNS rebinding)."""
    port = free_port()
    refused = subprocess.run(
        [
            IGWATCH,
            "serve",
            "--port",
            str(port),
            "--insecure-dev-no-auth",
            "--public-url",
            "https://igwatch.example.org",
            "--db",
            f"sqlite:///{folder / 'p.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    with serve(folder, "--insecure-dev-no-auth", "--demo") as server:
        foreign = httpx.get(f"{server.base}/", headers={"Host": "attacker.example"}, timeout=30)
    return {
        "public_url_without_login": {
            "exit": refused.returncode,
            "message": refused.stderr.strip().splitlines()[-1][:200],
        },
        "foreign_host_status": foreign.status_code,
        "foreign_host_patients_shown": foreign.text.count("data-patient-id="),
    }


def probe_replay(folder: Path) -> dict[str, Any]:
    """4. One client flooding the replay cache while another calls."""
    busy, quiet = es384_client("https://busy.example"), es384_client("https://quiet.example", kid="q-1")
    clients = write_clients_file(folder, [busy, quiet])
    with serve(folder, "--cds-clients", str(clients)) as server:
        url = f"{server.base}/cds-services"

        local = threading.local()

        def call(client: Any) -> int:
            # One connection per thread: a new httpx.Client costs the caller ~40 ms (its SSL
            # context), which would measure the probe, not the server.
            if not hasattr(local, "http"):
                local.http = httpx.Client(timeout=30)
            return int(
                local.http.get(url, headers={"Authorization": f"Bearer {client.token(url)}"}).status_code
            )

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: call(busy), range(2000)))
        seconds = time.perf_counter() - start
        quiet_status = call(quiet)
        token = busy.token(url)
        with ThreadPoolExecutor(8) as pool:
            replayed = list(
                pool.map(
                    lambda _: (
                        httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
                    ),
                    range(8),
                )
            )
    return {
        "busy_client_calls": len(statuses),
        "busy_client_rate_per_s": round(len(statuses) / seconds),
        "busy_client_accepted": statuses.count(200),
        "quiet_client_status_after": quiet_status,
        "same_token_8_times": sorted(replayed),
    }


def probe_login(folder: Path) -> dict[str, Any]:
    """5-7. Password guessing, a flood of logins, a 1 GiB login form, logout."""
    users = folder / "users.toml"
    users.write_text(f'[[user]]\nname = "nurse"\npassword_hash = "{hash_password(PASSWORD)}"\n')
    results: dict[str, Any] = {}
    with serve(folder, "--insecure-dev-no-auth", "--users", str(users)) as server:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            statuses = []
            for n in range(60):
                statuses.append(
                    client.post(
                        "/login",
                        data={
                            "csrf_token": csrf_of(client, "/login"),
                            "username": "nurse",
                            "password": f"g{n}",
                        },
                    ).status_code
                )
            right = client.post(
                "/login",
                data={"csrf_token": csrf_of(client, "/login"), "username": "nurse", "password": PASSWORD},
            )
            results["sixty_wrong_then_right"] = {
                "wrong": {s: statuses.count(s) for s in set(statuses)},
                "right": right.status_code,
            }
        before = memory_mb(server.process.pid)

        def bad_login(n: int) -> int:
            with httpx.Client(base_url=server.base, timeout=120) as http:
                return http.post(
                    "/login",
                    data={"csrf_token": csrf_of(http, "/login"), "username": f"u{n}", "password": "x"},
                ).status_code

        with ThreadPoolExecutor(40) as pool:
            flood = list(pool.map(bad_login, range(40)))
        results["forty_concurrent_bad_logins"] = {
            "statuses": {s: flood.count(s) for s in set(flood)},
            "server_MB_before": before,
            "server_MB_after": memory_mb(server.process.pid),
        }
        tmp_before = sum(1 for _ in Path(tempfile.gettempdir()).iterdir())
        with socket.create_connection(("127.0.0.1", int(server.base.rsplit(":", 1)[1])), timeout=30) as conn:
            start = time.perf_counter()
            conn.sendall(
                b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {2**30}\r\n\r\n".encode()
            )
            answer = conn.recv(200)
            results["one_GiB_login_form"] = {
                "status": int(answer.split()[1]),
                "seconds": round(time.perf_counter() - start, 3),
                "new_temp_files": sum(1 for _ in Path(tempfile.gettempdir()).iterdir()) - tmp_before,
            }
    with (
        serve(folder, "--insecure-dev-no-auth", "--users", str(users)) as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
    ):
        client.post(
            "/login",
            data={"csrf_token": csrf_of(client, "/login"), "username": "nurse", "password": PASSWORD},
        )
        cookie = client.cookies.get("igwatch_session")
        client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
        with httpx.Client(
            base_url=server.base, timeout=30, cookies={"igwatch_session": cookie or ""}
        ) as copy:
            old = copy.get("/")
        results["cookie_after_logout"] = {"status": old.status_code, "to": old.headers.get("location")}
    return results


@contextmanager
def stub_fhir(answer: Callable[[str], tuple[int, dict[str, Any]]]) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()


def probe_errors(folder: Path) -> dict[str, Any]:
    """8-11. Upstream text, 500s, deep JSON, odd dates, feedback, names, headers, 401 lines."""
    results: dict[str, Any] = {}
    secret = "Jane Doe, born 1961-02-03, MRN 00424242"
    request = patient_view([])
    request["prefetch"].pop("observations")
    with (
        serve(folder, "--insecure-dev-no-auth", "--demo") as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
    ):
        url = "/cds-services/igwatch-patient-view"
        with stub_fhir(
            lambda path: (
                404,
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "not-found", "diagnostics": secret}],
                },
            )
        ) as fhir:
            answer = client.post(url, json={**request, "fhirServer": fhir})
        results["upstream_outcome_412"] = {
            "status": answer.status_code,
            "name_in_answer": "Jane Doe" in answer.text,
        }
        with stub_fhir(
            lambda path: (200, {"resourceType": "Bundle", "type": "searchset", "entry": 5})
        ) as fhir:
            answer = client.post(url, json={**request, "fhirServer": fhir})
        results["fallback_entry_5"] = answer.status_code
        deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
        results["json_5000_deep"] = client.post(
            url, content=deep, headers={"Content-Type": "application/json"}
        ).status_code
        demo_patient = re.search(r'data-patient-id="([^"]+)"', client.get("/?all=1").text)
        assert demo_patient
        pid = demo_patient.group(1)
        results["as_of_0001_01_01"] = {
            "page": client.get(f"/patients/{pid}?as_of=0001-01-01").status_code,
            "pdf": client.get(f"/patients/{pid}/summary.pdf?as_of=0001-01-01").status_code,
            "next_request_same_connection": client.get("/knowledge").status_code,
        }
        items = [
            {"card": f"c{n}", "outcome": "accepted", "outcomeTimestamp": "2026-10-15T10:00:00Z"}
            for n in range(150_000)
        ]
        response, seconds = timed(
            lambda: client.post("/cds-services/igwatch-patient-view/feedback", json={"feedback": items})
        )
        results["feedback_150000_items"] = {"status": response.status_code, "seconds": seconds}
        results["feedback_comment_5000"] = client.post(
            "/cds-services/igwatch-patient-view/feedback",
            json={
                "feedback": [
                    {
                        "card": "c",
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-10-15T10:00:00Z",
                        "overrideReason": {"userComment": "x" * 5000},
                    }
                ]
            },
        ).status_code
        results["feedback_card_id_300"] = client.post(
            "/cds-services/igwatch-patient-view/feedback",
            json={
                "feedback": [
                    {"card": "c" * 300, "outcome": "accepted", "outcomeTimestamp": "2026-10-15T10:00:00Z"}
                ]
            },
        ).status_code
        results["patient_id_dots"] = client.post(
            url, json={**patient_view([]), "context": {"userId": "Practitioner/1", "patientId": ".."}}
        ).status_code
        name_bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Patient",
                        "id": "long-name",
                        "name": [{"text": "N" * 48_000_000}],
                    }
                }
            ],
        }
        token = csrf_of(client)
        client.post(
            "/upload",
            data={"csrf_token": token},
            files={"file": ("name.json", io.BytesIO(json.dumps(name_bundle).encode()))},
        )
        results["worklist_bytes_after_48MB_name"] = len(client.get("/?all=1").content)
    results["tracebacks_in_server_log"] = server.log.count("Traceback")
    results["patient_id_in_server_log"] = pid in server.log or "Jane Doe" in server.log

    users = folder / "users2.toml"
    users.write_text(f'[[user]]\nname = "nurse"\npassword_hash = "{hash_password(PASSWORD)}"\n')
    client_keys = es384_client("https://ehr.example.org")
    clients = write_clients_file(folder, [client_keys])
    with serve(
        folder,
        "--cds-clients",
        str(clients),
        "--users",
        str(users),
        "--public-url",
        "https://igwatch.example.org",
    ) as server:
        login_page = httpx.get(f"{server.base}/login", headers={"Host": "igwatch.example.org"}, timeout=30)
        results["hsts"] = login_page.headers.get("strict-transport-security")
        results["docs_with_login"] = httpx.get(
            f"{server.base}/docs", headers={"Host": "igwatch.example.org"}, timeout=30
        ).status_code
        url = "https://igwatch.example.org/cds-services"
        with httpx.Client(timeout=30) as http:
            for n in range(482):
                http.get(
                    f"{server.base}/cds-services",
                    headers={
                        "Host": "igwatch.example.org",
                        "Authorization": f"Bearer {client_keys.token(url, kid=f'forged-{n}')}",
                    },
                )
        results["log_lines_for_482_forged_kids"] = len(
            re.findall(r"igwatch\.cdshooks[\w.]*: 401 ", server.log)
        )
    return results


def main() -> None:
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="igwatch-probe-") as tmp:
        folder = Path(tmp)
        for name, probe in (
            ("1_stall", probe_stall),
            ("2_gzip_bombs", probe_gzip_bombs),
            ("3_exposure", probe_exposure),
            ("4_replay_cache", probe_replay),
            ("5_7_login", probe_login),
            ("8_11_errors_and_limits", probe_errors),
        ):
            started = time.perf_counter()
            results[name] = probe(folder)
            print(f"{name}: {json.dumps(results[name])}  ({time.perf_counter() - started:.0f} s)", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
