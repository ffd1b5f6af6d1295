"""ASGI guards around the whole server: request-body limits enforced before anything parses a
body, and one barrier that turns any unexpected exception into a plain 500 with a reference and
one log line (no stack trace, no patient id) instead of a trace on stderr and a dropped
connection. ``IGWATCH_DEBUG=1`` adds the trace to the log, for a developer's machine.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("igwatch.server")

#: Path segments after these prefixes name a patient or a launch: logs show "…" instead.
_MASKED = re.compile(r"^(/patients/|/smart/app/)[^/]+")


def mask_path(path: str) -> str:
    """A request path fit for a log line: patient ids and launch handles replaced by "…"."""
    return _MASKED.sub(r"\1…", path)


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body each part of the server reads, in bytes."""

    cds_hooks: int = 32 * 2**20  # a CDS Hooks request with its prefetch
    upload: int = 50 * 2**20 + 2**20  # the web upload form (the file plus the form around it)
    form: int = 64 * 2**10  # any other form: login, logout

    def for_path(self, path: str) -> int:
        if path.startswith("/cds-services"):
            return self.cds_hooks
        if path == "/upload":
            return self.upload
        return self.form


class BodyTooLarge(Exception):
    pass


def _answer(scope: Scope, status: int, code: str, text: str) -> tuple[bytes, bytes]:
    """A small body in the form the caller reads: an OperationOutcome for the CDS Hooks API."""
    if scope["path"].startswith("/cds-services"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        }
        return json.dumps(outcome).encode(), b"application/fhir+json"
    return text.encode(), b"text/plain; charset=utf-8"


async def _send_plain(scope: Scope, send: Send, status: int, code: str, text: str) -> None:
    body, content_type = _answer(scope, status, code, text)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    """413 for a body over its limit: at once when Content-Length says so (nothing is read), or
    as soon as a streamed (chunked) body passes it."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        too_large = f"request body: larger than {limit // 1024:,} KiB"
        if declared.isdigit() and int(declared) > limit:
            await _send_plain(scope, send, 413, "too-costly", too_large)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _send_plain(scope, send, 413, "too-costly", too_large)


DEBUG_VARIABLE: Final = "IGWATCH_DEBUG"


class ErrorBarrier:
    """The last word on an unexpected exception: one log line with a reference, the type, the
    place and the masked path; a 500 with the same reference; the connection kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            reference = uuid.uuid4().hex[:12]
            tb = error.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb else "?"
            # The type and the place only: an exception's message may quote patient data.
            log.error(
                "500 %s %s: %s at %s [ref %s]",
                scope["method"],
                mask_path(scope["path"]),
                type(error).__name__,
                where,
                reference,
                exc_info=error if os.environ.get(DEBUG_VARIABLE) else None,
            )
            if not started:
                await _send_plain(
                    scope,
                    send,
                    500,
                    "exception",
                    f"internal error (ref {reference}); the server log has its type",
                )


class LogBudget:
    """At most ``lines`` log lines per ``window_s`` for one kind of event (a flood of forged
    tokens must not flood the log); the first line after a quiet spell says how many were left
    out."""

    def __init__(self, lines: int = 20, window_s: float = 60.0) -> None:
        self.lines = lines
        self.window_s = window_s
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._used = 0
        self._dropped = 0

    def take(self, now: float | None = None) -> tuple[bool, int]:
        """(whether to log this one, how many were dropped since the last line logged)."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if moment - self._window_start >= self.window_s:
                self._window_start = moment
                self._used = 0
            if self._used >= self.lines:
                self._dropped += 1
                return False, 0
            self._used += 1
            dropped, self._dropped = self._dropped, 0
            return True, dropped
