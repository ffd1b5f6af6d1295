"""CDS Hooks service latency and throughput, against a real ``igwatch serve`` on loopback.

The server runs in its own process, with 1, 2 and 4 uvicorn workers (``igwatch serve --workers
N``; ``--workers 1,2`` picks). A closed-loop client (asyncio keep-alive connections, ``--concurrency``
requests in flight, one process) sends, for ``--seconds`` each:

- ``GET /cds-services`` — discovery, the framework's floor (routing, auth, JSON, HTTP);
- ``POST /cds-services/igwatch-patient-view`` — a typical patient (benchmarks/assess.py's
  generator, ~300 resources, all prefetched).

Both run on the same server in the same run, first with ``--insecure-dev-no-auth`` (no token;
the server logs its warning on every request), then with trusted-client JWTs: every request
carries a fresh ES384 token (its own ``jti``) minted by the client, so the server's verification
cost is inside the measured latency (the client's signing cost is on the same two-core machine).
The client shares the machine's cores with the server: its own CPU time is recorded beside each
measurement (``client_cpu_cores``: CPU seconds per second, so 0.5 is half a core taken from the
server), and so is the server's, its workers included (``server_cpu_cores``,
``server_cpu_ms_per_request``). The cost of one verification, in process, is measured too. Results, with the machine
and the date, go to benchmarks/results/cds_hooks.json.

    .venv/bin/python benchmarks/cds_hooks.py [--seconds 20] [--concurrency 16] [--workers 1,2,4] [--no-auth-phase]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from assess import AS_OF, typical_patient
from proctree import tree_cpu_seconds

from igwatch.cdshooks.cards import PREFETCH_KEYS
from igwatch.cdshooks.devkeys import mint_token, public_jwk

RESULTS = Path(__file__).parent / "results" / "cds_hooks.json"
PREFETCH_KEY = {
    "Observation": "observations",
    "Condition": "conditions",
    "Encounter": "encounters",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationAdministration": "medicationAdministrations",
    "Immunization": "immunizations",
    "Medication": "medications",
}
ISSUER = "https://ehr.bench.example"
KID = "bench-1"


def patient_view_request() -> tuple[dict[str, Any], int]:
    """The typical patient as a patient-view request, every prefetch key present."""
    bundle = typical_patient()
    resources = [entry["resource"] for entry in bundle["entry"]]
    prefetch: dict[str, Any] = dict.fromkeys(PREFETCH_KEYS)
    for resource in resources:
        if resource["resourceType"] == "Patient":
            prefetch["patient"] = resource
            continue
        key = PREFETCH_KEY[resource["resourceType"]]
        if prefetch[key] is None:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        prefetch[key]["entry"].append({"resource": resource})
    request = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": "bench"},
        "prefetch": prefetch,
    }
    return request, len(resources)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _start_server(workdir: Path, auth: bool, workers: int = 1) -> tuple[subprocess.Popen[bytes], int, Any]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "igwatch.cli",
        "serve",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{workdir / f'bench-{port}.db'}",
        "--as-of",
        AS_OF.isoformat(),
        "--workers",
        str(workers),
    ]
    key = None
    if auth:
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP384R1())
        (workdir / "jwks.json").write_text(json.dumps({"keys": [public_jwk(key, kid=KID)]}), encoding="utf-8")
        (workdir / "clients.toml").write_text(
            f'[[client]]\niss = "{ISSUER}"\njwks = "{workdir / "jwks.json"}"\n', encoding="utf-8"
        )
        command += ["--cds-clients", str(workdir / "clients.toml")]
    else:
        command += ["--insecure-dev-no-auth"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    return server, port, key


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared request bytes and reads the answer
    by its Content-Length (or chunks). A general client (httpx) spent a whole core at 400
    requests/s on this two-core machine, taken from the server it measured; this one spends a
    few per cent (recorded as ``client_cpu_cores``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            await self.reader.readexactly(length)
            return status
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)
            if size == 0:
                return status

    def close(self) -> None:
        self.writer.close()


def _request_bytes(method: str, port: int, path: str, body: bytes, token: str | None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "content-type: application/json"]
    if token is not None:
        head.append(f"authorization: Bearer {token}")
    head.append(f"content-length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _load(
    make_request: Callable[[], bytes],
    port: int,
    server_pid: int,
    seconds: float,
    concurrency: int,
    warmup_s: float = 2.0,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    connections = [await _Connection.open(port) for _ in range(concurrency)]
    try:
        warm_until = time.perf_counter() + warmup_s
        while time.perf_counter() < warm_until:
            await asyncio.gather(*(c.exchange(make_request()) for c in connections))
        start = time.perf_counter()
        stop = start + seconds

        async def worker(connection: _Connection) -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                request = make_request()  # a fresh token is part of the client's cost, not the latency
                began = time.perf_counter()
                status = await connection.exchange(request)
                latencies.append((time.perf_counter() - began) * 1000)
                if status != 200:
                    errors += 1

        cpu_before, server_before = time.process_time(), tree_cpu_seconds(server_pid)
        await asyncio.gather(*(worker(c) for c in connections))
        elapsed = time.perf_counter() - start
        client_cpu = time.process_time() - cpu_before
        server_cpu = tree_cpu_seconds(server_pid) - server_before
    finally:
        for connection in connections:
            connection.close()
    return {
        "client_cpu_cores": round(client_cpu / elapsed, 2),
        "server_cpu_cores": round(server_cpu / elapsed, 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, len(latencies)), 2),
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 1),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        **_percentiles(latencies),
    }


def _phase(
    port: int, server_pid: int, body: bytes, key: Any, seconds: float, concurrency: int
) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{port}"

    def request_for(method: str, path: str, content: bytes) -> Callable[[], bytes]:
        def make() -> bytes:
            token = None
            if key is not None:
                token = mint_token(key, iss=ISSUER, aud=f"{base_url}{path}", kid=KID, ttl_s=300)
            return _request_bytes(method, port, path, content, token)

        return make

    discovery = request_for("GET", "/cds-services", b"")
    patient_view = request_for("POST", "/cds-services/igwatch-patient-view", body)
    floor = asyncio.run(_load(discovery, port, server_pid, seconds, concurrency))
    hook = asyncio.run(_load(patient_view, port, server_pid, seconds, concurrency))
    return {
        "floor_get_cds_services": floor,
        "patient_view": hook,
        "p50_ratio_to_floor": round(hook["p50_ms"] / floor["p50_ms"], 2),
    }


def _jwt_verify_cost(workdir: Path) -> dict[str, float]:
    """One ES384 verification in process (a fresh token each time, as the server sees them)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from igwatch.cdshooks.auth import TokenVerifier, load_trusted_clients

    key = ec.generate_private_key(ec.SECP384R1())
    (workdir / "jwks-verify.json").write_text(
        json.dumps({"keys": [public_jwk(key, kid=KID)]}), encoding="utf-8"
    )
    (workdir / "clients-verify.toml").write_text(
        f'[[client]]\niss = "{ISSUER}"\njwks = "{workdir / "jwks-verify.json"}"\n', encoding="utf-8"
    )
    verifier = TokenVerifier(load_trusted_clients(workdir / "clients-verify.toml"))
    aud = "http://127.0.0.1/cds-services"
    tokens = [mint_token(key, iss=ISSUER, aud=aud, kid=KID, ttl_s=300) for _ in range(300)]
    samples = []
    for token in tokens:
        began = time.perf_counter()
        verifier.verify(f"Bearer {token}", audience=aud)
        samples.append((time.perf_counter() - began) * 1000)
    sign = []
    for _ in range(300):
        began = time.perf_counter()
        mint_token(key, iss=ISSUER, aud=aud, kid=KID, ttl_s=300)
        sign.append((time.perf_counter() - began) * 1000)
    return {
        "verify_median_ms": round(statistics.median(samples), 3),
        "client_sign_median_ms": round(statistics.median(sign), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-auth-phase", action="store_true", help="Skip the phase with JWTs.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts to measure, comma-separated.")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    request, resources = patient_view_request()
    body = json.dumps(request).encode()
    results: dict[str, Any] = {
        "benchmark": "CDS Hooks service: patient-view vs GET /cds-services (floor), closed loop",
        "resources_prefetched": resources,
        "request_bytes": len(body),
        "concurrency": args.concurrency,
        "seconds_per_measurement": args.seconds,
        "server": "igwatch serve --workers N (separate processes)",
        "client": "one process, asyncio keep-alive connections sending prepared requests",
        "targets": {"p99_ms": 50, "patient_view_p50_max_ratio_to_floor": 3},
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        phases = [("insecure_dev_no_auth", False)] + ([] if args.no_auth_phase else [("jwt_es384", True)])
        for workers in worker_counts:
            by_phase: dict[str, Any] = {}
            for name, auth in phases:
                server, port, key = _start_server(workdir, auth, workers)
                try:
                    by_phase[name] = _phase(port, server.pid, body, key, args.seconds, args.concurrency)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                print(f"workers {workers}", name, json.dumps(by_phase[name], indent=1), flush=True)
            results[f"workers_{workers}"] = by_phase
        if not args.no_auth_phase:
            results["jwt_cost_in_process"] = _jwt_verify_cost(workdir)
    results["machine"] = (
        f"{platform.machine()} {platform.processor()} {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    results["date"] = datetime.now().isoformat(timespec="seconds")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
