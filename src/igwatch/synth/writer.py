"""Writing the cohort: a bulk FHIR export (NDJSON per type, split, optional gzip) or bundles.

Both writers stream: resources go through open file handles as each patient is generated, so
memory stays flat however large the cohort. Output bytes depend only on the resources (sorted
keys, compact separators, gzip headers without a file name or time).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, cast

import orjson

#: gzip level: 5 is close to 9 in size on NDJSON and about twice as fast.
GZIP_LEVEL: Final = 5
_BUFFER: Final = 1 << 20


def dumps(resource: dict[str, Any]) -> bytes:
    """One resource as a compact UTF-8 JSON line (sorted keys, no newline)."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def bundle_bytes(patient_id: str, resources: list[dict[str, Any]], base_url: str) -> bytes:
    """A patient's ``collection`` Bundle as one JSON line (each entry with a ``fullUrl``)."""
    base = base_url.rstrip("/")
    bundle = {
        "resourceType": "Bundle",
        "id": f"bundle-{patient_id}",
        "type": "collection",
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    return dumps(bundle) + b"\n"


def _open(path: Path, compress: bool) -> IO[bytes]:
    raw = open(path, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed by the writer
    if not compress:
        return raw
    return cast(
        IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)
    )


@dataclass
class LineBlock:
    """NDJSON lines of one type, packed: the bytes (each line ends with a newline) and where each
    line ends. Compact where a list of many small ``bytes`` objects is not."""

    data: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)

    def append(self, line: bytes) -> None:
        self.data += line
        self.data += b"\n"
        self.ends.append(len(self.data))


@dataclass
class OutputFile:
    """One written file: its resource type, name relative to the output directory, count."""

    type: str
    url: str
    count: int


@dataclass
class _TypeStream:
    type: str
    part: int = 0
    count_in_part: int = 0
    handle: IO[bytes] | None = None
    raw: IO[bytes] | None = None
    parts: list[OutputFile] = field(default_factory=list)


class NdjsonWriter:
    """Writes ``<Type>.ndjson`` files, splitting a type every ``max_per_file`` resources.

    While writing, every part is named ``<Type>.<NNN>.ndjson[.gz]``; :meth:`close` renames a type
    that fits in one file to ``<Type>.ndjson[.gz]``.
    """

    def __init__(self, out_dir: Path, *, compress: bool, max_per_file: int) -> None:
        if max_per_file < 1:
            raise ValueError("max_per_file must be at least 1")
        self.out_dir = out_dir
        self.compress = compress
        self.max_per_file = max_per_file
        self.suffix = ".ndjson.gz" if compress else ".ndjson"
        self.streams: dict[str, _TypeStream] = {}
        self.bytes_written = 0

    def _part_name(self, rtype: str, part: int) -> str:
        return f"{rtype}.{part:03d}{self.suffix}"

    def write_block(self, rtype: str, block: LineBlock) -> None:
        """Append the JSON lines of one resource type (already serialised, one block)."""
        stream = self.streams.get(rtype)
        if stream is None:
            stream = self.streams[rtype] = _TypeStream(rtype)
        view = memoryview(block.data)
        ends = block.ends
        done = 0  # lines written
        offset = 0  # bytes written
        while done < len(ends):
            if stream.handle is None or stream.count_in_part >= self.max_per_file:
                self._rotate(stream)
            room = self.max_per_file - stream.count_in_part
            take = min(room, len(ends) - done)
            stop = ends[done + take - 1]
            assert stream.handle is not None
            stream.handle.write(view[offset:stop])
            self.bytes_written += stop - offset
            stream.count_in_part += take
            stream.parts[-1].count += take
            done += take
            offset = stop

    def _rotate(self, stream: _TypeStream) -> None:
        if stream.handle is not None:
            self._close_stream(stream)
            stream.part += 1
        name = self._part_name(stream.type, stream.part)
        stream.handle = _open(self.out_dir / name, self.compress)
        stream.count_in_part = 0
        stream.parts.append(OutputFile(stream.type, name, 0))

    @staticmethod
    def _close_stream(stream: _TypeStream) -> None:
        if stream.handle is not None:
            stream.handle.close()
            fileobj = getattr(stream.handle, "fileobj", None)
            if isinstance(fileobj, io.IOBase):
                fileobj.close()
            stream.handle = None

    def close(self) -> list[OutputFile]:
        """Close every file; returns them sorted by type, then part."""
        files: list[OutputFile] = []
        for rtype in sorted(self.streams):
            stream = self.streams[rtype]
            self._close_stream(stream)
            if len(stream.parts) == 1:
                single = stream.parts[0]
                name = f"{rtype}{self.suffix}"
                (self.out_dir / single.url).replace(self.out_dir / name)
                single.url = name
            files.extend(stream.parts)
        return files

    def abort(self) -> None:
        for stream in self.streams.values():
            self._close_stream(stream)


class BundleWriter:
    """Writes one Bundle per patient: ``<patient-id>.json[.gz]``."""

    def __init__(self, out_dir: Path, *, compress: bool) -> None:
        self.out_dir = out_dir
        self.compress = compress
        self.suffix = ".json.gz" if compress else ".json"
        self.count = 0
        self.bytes_written = 0

    def write_bundle(self, patient_id: str, data: bytes) -> None:
        if self.compress:
            data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        (self.out_dir / f"{patient_id}{self.suffix}").write_bytes(data)
        self.bytes_written += len(data)
        self.count += 1

    def close(self) -> list[OutputFile]:
        """One file per patient: not listed (a million entries would defeat streaming)."""
        return []
