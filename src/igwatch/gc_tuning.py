"""Python's cyclic garbage collector, set for igwatch's work: paused while a FHIR document is
read (:func:`collector_paused`), and tuned once for a long-running server (:func:`tune_for_server`).

Reading a record builds tens of thousands of dicts and lists that all stay alive until the
answer is given. The cyclic collector runs every 700 new containers and walks the young ones
each time, and the older generations every tenth and hundredth run: on a real export that is a
third of the time of reading it (``benchmarks/assess.py``). Parsed JSON, the timeline and the
assessment hold no reference cycles, so there is nothing for it to find there; reference counting
frees them as before.

The pause is counted: threads reading at once (the CDS Hooks worker pool) share one, and the
collector is enabled again only when the last of them is done, and only if it was enabled
before. While pauses overlap without end (a busy server), the young generation is still
collected by the thread leaving a pause once it has grown past :data:`COLLECT_YOUNG_AFTER`
objects, so cycles made elsewhere in the meantime are not kept for long.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: Containers allocated (net) under overlapping pauses before the leaving thread collects the young
#: generation anyway: about the objects of a few large records.
COLLECT_YOUNG_AFTER: Final = 1_000_000

_lock = threading.Lock()
_pauses = 0
_enable_after = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Within this block (or a function decorated with ``@collector_paused()``) the cyclic
    collector does not run."""
    global _pauses, _enable_after
    with _lock:
        if _pauses == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0:
                if _enable_after:
                    gc.enable()
            elif gc.get_count()[0] > COLLECT_YOUNG_AFTER:
                gc.collect(0)


#: The server's young-generation threshold (Python's default is 700): one CDS Hooks request makes
#: tens of thousands of containers, all freed by reference counting when it is answered.
SERVER_YOUNG_THRESHOLD: Final = 20_000


def tune_for_server() -> None:
    """Once a server process has loaded what it keeps (modules, value sets, the catalog), move
    it all out of the collector's sight (:func:`gc.freeze`) and collect the young generation less
    often. Otherwise every full collection walks the whole loaded terminology again, and the
    requests that happen to pay for one make the slow tail (``benchmarks/cds_hooks.py``: p99 355 →
    225 ms at one worker, CPU per request 12.8 → 11.0 ms)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(SERVER_YOUNG_THRESHOLD, middle, old)
