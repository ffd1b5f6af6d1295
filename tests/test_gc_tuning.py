"""The collector pause (counted across threads, leaving the collector as it found it) and the
server's tuning."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Iterator

import pytest

from igwatch import gc_tuning
from igwatch.fhir.reader import parse_input


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with gc_tuning.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last() -> None:
    first, second = gc_tuning.collector_paused(), gc_tuning.collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the other reader is still at work
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with gc_tuning.collector_paused():
        pass
    assert not gc.isenabled()


def test_an_error_inside_still_ends_the_pause() -> None:
    with pytest.raises(ValueError), gc_tuning.collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_reading_on_many_threads_leaves_the_collector_on() -> None:
    data = b'{"resourceType": "Patient", "id": "p"}\n{"resourceType": "Observation", "id": "o"}'
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(200):
                assert len(parse_input(data, "x.ndjson")) == 2
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert gc.isenabled()


def test_young_objects_are_still_collected_while_pauses_overlap_without_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gc_tuning, "COLLECT_YOUNG_AFTER", 100)
    outer = gc_tuning.collector_paused()
    outer.__enter__()
    try:
        with gc_tuning.collector_paused():
            garbage = [[] for _ in range(1000)]
            for a, b in itertools.pairwise(garbage):
                a.append(b)
                b.append(a)  # a cycle only the collector can free
            del garbage
        assert gc.get_count()[0] < 100  # the leaving reader collected the young generation
    finally:
        outer.__exit__(None, None, None)


def test_a_server_freezes_what_it_loaded_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    kept = [[n] for n in range(1000)]  # loaded at start-up, alive for the server's life
    try:
        gc_tuning.tune_for_server()
        assert gc.get_threshold()[0] == gc_tuning.SERVER_YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
