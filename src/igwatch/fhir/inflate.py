"""Reading compressed and line-oriented input within limits (contract §1).

A 1 MB ``.json.gz`` can inflate to gigabytes, and an NDJSON line has no natural end: whatever
reads input here reads it as a stream and stops at a limit with a one-line refusal, so a small
file cannot exhaust memory. The limits are settings (environment variables), with safe defaults:

- ``IGWATCH_MAX_LINE_BYTES``: one NDJSON line (default 64 MiB);
- ``IGWATCH_MAX_INFLATED_BYTES``: one compressed file, inflated, read as a stream (default 8 GiB);
- ``IGWATCH_MAX_DOCUMENT_BYTES``: one whole JSON document (a Bundle), which is parsed in memory
  (default 512 MiB; larger exports are NDJSON).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import IO, Final

from igwatch.errors import InputRefused

MIB: Final = 1 << 20
_DEFAULTS: Final = {
    "IGWATCH_MAX_LINE_BYTES": 64 * MIB,
    "IGWATCH_MAX_INFLATED_BYTES": 8 * 1024 * MIB,
    "IGWATCH_MAX_DOCUMENT_BYTES": 512 * MIB,
}
_CHUNK: Final = MIB


def limit(name: str) -> int:
    """A limit's value: the environment's when it is a positive whole number, else the default."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else _DEFAULTS[name]


def _size(limit_bytes: int) -> str:
    return f"{limit_bytes / MIB:g} MiB" if limit_bytes >= MIB else f"{limit_bytes} bytes"


class TooLarge(InputRefused):
    """Input past one of the limits: refused, never read further (distinct from broken input)."""


def inflate_document(data: bytes, source: str) -> bytes:
    """Gzip ``data`` inflated, refused past ``IGWATCH_MAX_DOCUMENT_BYTES`` (never all at once)."""
    ceiling = limit("IGWATCH_MAX_DOCUMENT_BYTES")
    inflater = zlib.decompressobj(wbits=31)
    parts: list[bytes] = []
    total = 0
    pending = data
    try:
        while pending:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            total += len(chunk)
            if total > ceiling:
                raise TooLarge(
                    f"{source}: inflates past {_size(ceiling)} (IGWATCH_MAX_DOCUMENT_BYTES); "
                    "send a large export as NDJSON"
                )
            parts.append(chunk)
            if inflater.eof:
                break
        parts.append(inflater.flush())
    except zlib.error:
        raise InputRefused(f"{source}: not a valid gzip file") from None
    if not inflater.eof:
        raise InputRefused(f"{source}: not a valid gzip file (cut short)")
    return b"".join(parts)


def bounded_lines(stream: IO[bytes], source: str, compressed: bool) -> Iterator[bytes]:
    """The lines of ``stream``, each at most ``IGWATCH_MAX_LINE_BYTES``, and for a compressed
    stream at most ``IGWATCH_MAX_INFLATED_BYTES`` in all; refused (one line) past either."""
    line_limit = limit("IGWATCH_MAX_LINE_BYTES")
    total_limit = limit("IGWATCH_MAX_INFLATED_BYTES")
    total = 0
    number = 0
    while True:
        line = stream.readline(line_limit + 1)
        if not line:
            return
        number += 1
        if len(line) > line_limit:
            raise TooLarge(
                f"{source} line {number}: longer than {_size(line_limit)} (IGWATCH_MAX_LINE_BYTES)"
            )
        total += len(line)
        if compressed and total > total_limit:
            raise TooLarge(f"{source}: inflates past {_size(total_limit)} (IGWATCH_MAX_INFLATED_BYTES)")
        yield line
