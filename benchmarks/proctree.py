"""A process and all its descendants, read from /proc: what the benchmarks sum their memory and
CPU over (a server's workers, a screen's assessing processes, Spark's JVM)."""

from __future__ import annotations

import os

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_stats(root: int) -> list[list[str]]:
    """The fields of ``/proc/PID/stat`` after the command name (so ``[1]`` is the parent's pid,
    ``[11]``/``[12]`` user and system ticks, ``[21]`` resident pages) for ``root`` and every
    process below it; a process gone meanwhile is left out."""
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                stats[int(entry)] = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        if pid in stats:
            found.append(stats[pid])
        frontier.extend(children.get(pid, []))
    return found


def tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and its descendants."""
    return sum(int(fields[21]) * PAGE_BYTES for fields in tree_stats(root))


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its descendants."""
    return sum(int(fields[11]) + int(fields[12]) for fields in tree_stats(root)) / CLOCK_TICKS
