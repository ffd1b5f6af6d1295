"""Synthetic cohort generation: patients/s and peak memory for 10k and 100k patients.

Each size runs the real ``igwatch synth`` console script in a child process (NDJSON, and once
gzipped), so peak RSS is that of the generator alone (the largest of its processes, from the
children's resource usage). The machine may be shared: CPU seconds and the load average are
recorded beside wall time, and patients per CPU-second is the figure that travels. Peak memory should stay flat as the cohort grows (streaming).
Results go to benchmarks/results/synth.json with the machine and the date.

    .venv/bin/python benchmarks/synth.py [--sizes 10000 100000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "synth.json"
BIN = Path(sys.executable).parent


def _run(out: Path, patients: int, workers: int, gzip: bool) -> dict[str, Any]:
    command = [
        str(BIN / "igwatch"),
        "synth",
        str(out),
        "--patients",
        str(patients),
        "--seed",
        "1",
        "--workers",
        str(workers),
        "--quiet",
    ]
    if gzip:
        command.append("--gzip")
    # A fresh interpreter that only waits for the generator: its children's peak RSS is ours.
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True)\n"
        "elapsed = time.perf_counter() - t\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, check=True)
    elapsed_text, peak_kb, cpu_text = done.stdout.split()
    elapsed = float(elapsed_text)
    cpu = float(cpu_text)
    manifest = json.loads((out / "manifest.json").read_text())
    resources = sum(entry["count"] for entry in manifest["output"])
    size = sum(p.stat().st_size for p in out.iterdir())
    return {
        "patients": patients,
        "workers": workers,
        "gzip": gzip,
        "seconds": round(elapsed, 2),
        "patients_per_s": round(patients / elapsed),
        "cpu_seconds": round(cpu, 2),
        "patients_per_cpu_s": round(patients / cpu),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "resources": resources,
        "resources_per_patient": round(resources / patients, 1),
        "bytes": size,
        "peak_rss_mb": round(int(peak_kb) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gzip-size", type=int, default=10_000, help="cohort size for the gzip run")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="igwatch-synth-bench-") as tmp:
        for size in args.sizes:
            for workers in args.workers:
                out = Path(tmp) / f"n{size}-w{workers}"
                runs.append(_run(out, size, workers, gzip=False))
                print(json.dumps(runs[-1]), flush=True)
                shutil.rmtree(out)
        if args.gzip_size:
            out = Path(tmp) / "gz"
            runs.append(_run(out, args.gzip_size, max(args.workers), gzip=True))
            print(json.dumps(runs[-1]), flush=True)
    result = {
        "benchmark": "igwatch synth (NDJSON bulk export), end to end in a child process",
        "runs": runs,
        "cpus": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "date": datetime.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
