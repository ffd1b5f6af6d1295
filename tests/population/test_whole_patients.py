"""Cutting a patient-ordered stream of Arrow batches into tables of whole patients."""

from __future__ import annotations

import pyarrow as pa

from igwatch.population.assessor import whole_patients


def _batches(patients: list[str], size: int) -> list[pa.RecordBatch]:
    table = pa.table({"patient": patients, "n": list(range(len(patients)))})
    return table.to_batches(max_chunksize=size)


def test_no_patient_is_split_and_no_row_is_lost() -> None:
    patients = ["a"] * 5 + ["b"] * 1 + ["c"] * 7 + ["d"] * 2 + ["e"] * 3
    for size in (1, 2, 3, 4, 18):
        for least in (1, 2, 3):
            cut = list(whole_patients(_batches(patients, size), least))
            seen = [p for table, _ in cut for p in table.column("patient").to_pylist()]
            assert seen == patients, (size, least)
            per_table = [set(t.column("patient").to_pylist()) for t, _ in cut]
            assert all(not (x & y) for i, x in enumerate(per_table) for y in per_table[i + 1 :])
            assert [count for _, count in cut] == [len(s) for s in per_table]
            assert all(count >= least for _, count in cut[:-1])


def test_empty_stream_gives_nothing() -> None:
    assert list(whole_patients([])) == []
