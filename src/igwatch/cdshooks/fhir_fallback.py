"""Read missing CDS Hooks prefetch data from the EHR's FHIR server (contract §4).

When a request lacks prefetch keys, the service reads them from ``fhirServer`` with the
``fhirAuthorization`` bearer token: every key concurrently, every search page followed, the
whole fetch under one deadline. Anything that keeps igwatch from the complete data raises
:class:`FhirUnavailable` with a one-line message naming the key and what happened; the message
and the log carry no resource contents, no patient id and never the token.

The queries are the prefetch templates that discovery publishes (:data:`PREFETCH_TEMPLATES`):

* ``observations`` is every Observation of the patient, not narrowed by category or code. The
  engine reads weights and heights (which some EHRs file as ``laboratory``, not
  ``vital-signs``), laboratory results, serotype IgG recognised by name, and Observations named
  as a Condition's evidence with any code, so a narrower query could lose data.
* The three medication searches carry ``_include=<Type>:medication`` so that a server running
  them also returns the ``Medication`` resources that ``medicationReference`` points to.
* ``medications`` in discovery is the one R4 *Medication* search that selects by patient,
  ``_has`` reverse chaining through MedicationRequest. Here the fallback does not rely on
  ``_has`` (many servers lack it) or on ``_include`` (some ignore it): it reads the three
  medication searches, keeps the Medications they include, and reads any other referenced
  Medication on the same server with ``Medication?_id=a,b,…``. The ``medications`` Bundle holds
  them all; included Medications also stay in the Bundle that returned them, as the server sent
  it (the engine reads each resource once).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import httpx

from igwatch.cdshooks.fhir_bases import FhirBase, FhirBaseError, parse_fhir_url

log = logging.getLogger("igwatch.cdshooks.fhir")
# httpx logs every request URL at INFO, and these URLs carry the patient id: keep its request log
# quiet unless someone sets its level on purpose.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

PATIENT_TOKEN = "{{context.patientId}}"

PREFETCH_TEMPLATES: dict[str, str] = {
    "patient": f"Patient/{PATIENT_TOKEN}",
    "observations": f"Observation?patient={PATIENT_TOKEN}",
    "conditions": f"Condition?patient={PATIENT_TOKEN}",
    "encounters": f"Encounter?patient={PATIENT_TOKEN}",
    "medicationStatements": (
        f"MedicationStatement?patient={PATIENT_TOKEN}&_include=MedicationStatement:medication"
    ),
    "medicationRequests": f"MedicationRequest?patient={PATIENT_TOKEN}&_include=MedicationRequest:medication",
    "medicationAdministrations": (
        f"MedicationAdministration?patient={PATIENT_TOKEN}&_include=MedicationAdministration:medication"
    ),
    "immunizations": f"Immunization?patient={PATIENT_TOKEN}",
    "medications": f"Medication?_has:MedicationRequest:medication:patient={PATIENT_TOKEN}",
}

#: The searches whose resources can reference a Medication, and what they search.
MEDICATION_KEYS: dict[str, str] = {
    "medicationStatements": "MedicationStatement",
    "medicationRequests": "MedicationRequest",
    "medicationAdministrations": "MedicationAdministration",
}

DEFAULT_MAX_PAGES = 50
CONNECT_TIMEOUT_S = 5.0
#: Ids per ``Medication?_id=`` query, to keep the URL short.
MEDICATION_IDS_PER_QUERY = 40
#: FHIR ``id`` datatype.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FhirUnavailable(Exception):
    """The FHIR server could not provide the data. The message is one safe line (no patient data);
    ``status`` is the HTTP status that refused a request, when one did (401: the token)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _origin(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port of ``url`` (None when it has no usable origin)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:  # a port that is not a number, a malformed IPv6 host
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def _base_url(fhir_server: str) -> str:
    base = fhir_server.strip() if isinstance(fhir_server, str) else ""
    if _origin(base) is None:
        raise FhirUnavailable("fhirServer is not an http(s) URL")
    parts = urlsplit(base)
    if parts.username or parts.password:
        raise FhirUnavailable("fhirServer must not carry credentials in the URL")
    if parts.query or parts.fragment:
        raise FhirUnavailable("fhirServer must be a base URL, without query or fragment")
    return base.rstrip("/")


def _auth_headers(authorization: Mapping[str, Any] | None) -> dict[str, str]:
    headers = {"Accept": "application/fhir+json"}
    if authorization is None:
        return headers
    token_type = str(authorization.get("token_type") or "Bearer")
    if token_type.lower() != "bearer":
        raise FhirUnavailable("fhirAuthorization token_type is not Bearer")
    token = authorization.get("access_token")
    if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
        raise FhirUnavailable("fhirAuthorization has no usable access_token")
    headers["Authorization"] = f"Bearer {token}"
    return headers


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_ISSUE_CODE = re.compile(r"[a-z][a-z-]{0,39}")


def _outcome_text(body: object) -> str:
    """The first issue's code of an OperationOutcome (``not-found``, ``forbidden`` …), or empty.

    Only the code: an upstream server's diagnostics can hold a name, a birth date or a record
    number, and what igwatch says goes into its log and to the calling EHR."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ""
    for issue in body.get("issue") or []:
        code = issue.get("code") if isinstance(issue, dict) else None
        if isinstance(code, str) and _ISSUE_CODE.fullmatch(code):
            return f"issue {code}"
    return ""


class _Fetcher:
    """One fetch: the client, the headers, the base every URL must lie under and the page cap."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base: str,
        headers: dict[str, str],
        *,
        patient_id: str,
        timeout: httpx.Timeout,
        max_pages: int,
        scope: FhirBase | None = None,
    ):
        self.client = client
        self.base = base
        self.scope = scope or parse_fhir_url(base)
        self.headers = headers
        self.patient_id = patient_id
        self.timeout = timeout
        self.max_pages = max_pages

    async def get_json(self, key: str, url: str, params: httpx.QueryParams | None = None) -> Any:
        try:
            inside = self.scope.contains(parse_fhir_url(url, with_query=True))
        except FhirBaseError:
            inside = False
        if not inside:
            # The token goes only under the allowed base: a paging link is the server's to write.
            raise FhirUnavailable(f"{key}: a link points outside fhirServer's allowed base; not followed")
        try:
            # Per request, so that a client passed in cannot lift the bounds or follow a redirect
            # (which could carry the token to another host).
            response = await self.client.get(
                url, params=params, headers=self.headers, timeout=self.timeout, follow_redirects=False
            )
        except httpx.TimeoutException:
            raise FhirUnavailable(f"{key}: the FHIR server timed out") from None
        except httpx.ConnectError:
            raise FhirUnavailable(f"{key}: could not connect to the FHIR server") from None
        except httpx.HTTPError as error:
            raise FhirUnavailable(f"{key}: request failed ({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            detail = _outcome_text(body).replace(self.patient_id, "…")
            what = f"HTTP {response.status_code}"
            if response.status_code == 404 and key == "patient":
                what = "Patient not found (HTTP 404)"
            elif response.status_code in (401, 403):
                what += " (the token was refused)"
            raise FhirUnavailable(
                f"{key}: {what}" + (f": {detail}" if detail else ""), status=response.status_code
            )
        if body is None:
            raise FhirUnavailable(f"{key}: the FHIR server's answer is not JSON")
        return body

    async def read_patient(self, patient_id: str) -> dict[str, Any]:
        body = await self.get_json("patient", f"{self.base}/Patient/{quote(patient_id, safe='')}")
        if not isinstance(body, dict) or body.get("resourceType") != "Patient":
            raise FhirUnavailable(f"patient: the FHIR server returned {_kind(body)}, not a Patient")
        if body.get("id") != patient_id:
            raise FhirUnavailable("patient: the FHIR server returned another Patient")
        return body

    async def search(self, key: str, resource_type: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        """Every page of one search, merged into one searchset Bundle (entries once each)."""
        entries: list[dict[str, Any]] = []
        seen: set[str] = set()
        url = f"{self.base}/{resource_type}"
        query: httpx.QueryParams | None = httpx.QueryParams(tuple(params))
        visited: set[str] = set()
        pages = 0
        while True:
            pages += 1
            if pages > self.max_pages:
                raise FhirUnavailable(f"{key}: more than {self.max_pages} pages of results")
            body = await self.get_json(key, url, query)
            if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
                raise FhirUnavailable(f"{key}: the FHIR server returned {_kind(body)}, not a Bundle")
            page_entries = body.get("entry")
            if page_entries is not None and not isinstance(page_entries, list):
                raise FhirUnavailable(f"{key}: the FHIR server's Bundle.entry is not a list")
            for entry in page_entries or []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                    continue
                if resource["resourceType"] == "OperationOutcome":
                    continue  # search.mode "outcome": a note about the search, not data
                identity = f"{resource['resourceType']}/{resource.get('id')}"
                if resource.get("id") is not None and identity in seen:
                    continue  # the same record on two pages (the result set moved)
                seen.add(identity)
                entries.append(entry)
            next_url = _next_link(body)
            if next_url is None:
                break
            next_url = urljoin(url if query is None else str(httpx.URL(url, params=query)), next_url)
            if next_url in visited:
                raise FhirUnavailable(f"{key}: the pages link back to an earlier page")
            visited.add(next_url)
            url, query = next_url, None
        log.info("fhir fallback: %s read (%d pages, %d entries)", key, pages, len(entries))
        return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}

    async def medications(self, sources: list[dict[str, Any]]) -> dict[str, Any]:
        """The Medications the medication resources reference: those included, then the rest by id."""
        found: dict[str, dict[str, Any]] = {}
        wanted: list[str] = []
        for bundle in sources:
            for entry in bundle.get("entry") or []:
                resource = entry["resource"]
                if resource["resourceType"] == "Medication" and isinstance(resource.get("id"), str):
                    found.setdefault(resource["id"], entry)
                    continue
                med_id = self._medication_id(resource.get("medicationReference"))
                if med_id is not None and med_id not in wanted:
                    wanted.append(med_id)
        missing = [med_id for med_id in wanted if med_id not in found]
        chunks = [
            missing[i : i + MEDICATION_IDS_PER_QUERY]
            for i in range(0, len(missing), MEDICATION_IDS_PER_QUERY)
        ]
        results = await asyncio.gather(
            *(self.search("medications", "Medication", [("_id", ",".join(chunk))]) for chunk in chunks)
        )
        for bundle in results:
            for entry in bundle["entry"]:
                resource = entry["resource"]
                if resource["resourceType"] == "Medication" and isinstance(resource.get("id"), str):
                    found.setdefault(resource["id"], entry)
        entries = list(found.values())
        return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}

    def _medication_id(self, reference: object) -> str | None:
        """The id of a ``Medication`` on this server that a reference names (else None)."""
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref = reference["reference"]
        if ref.startswith(self.base + "/"):
            ref = ref[len(self.base) + 1 :]
        parts = ref.split("/")
        if len(parts) in (2, 4) and parts[0] == "Medication" and (len(parts) == 2 or parts[2] == "_history"):
            return parts[1] if _FHIR_ID.fullmatch(parts[1]) else None
        return None  # contained (#id), urn:uuid, or another server: not ours to read


def _kind(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("resourceType"), str):
        article = "an" if body["resourceType"][:1] in "AEIOU" else "a"
        kind = f"{article} {body['resourceType']}"
        detail = _outcome_text(body)
        return f"{kind} ({detail})" if detail else kind
    return "JSON that is not a FHIR resource"


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _search_params(key: str, patient_id: str) -> tuple[str, list[tuple[str, str]]]:
    template = PREFETCH_TEMPLATES[key]
    resource_type, _, query = template.partition("?")
    params = [(name, value.replace(PATIENT_TOKEN, patient_id)) for name, value in parse_qsl(query)]
    return resource_type, params


async def fetch_prefetch(
    fhir_server: str,
    authorization: Mapping[str, Any] | None,
    patient_id: str,
    keys: Iterable[str],
    *,
    timeout_s: float,
    max_pages: int = DEFAULT_MAX_PAGES,
    client: httpx.AsyncClient | None = None,
    allowed_base: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Read the prefetch ``keys`` for ``patient_id`` from ``fhir_server``.

    Returns key → the Patient (``patient``) or one searchset Bundle with every page merged.
    ``authorization`` is the CDS Hooks ``fhirAuthorization`` object (its bearer token is sent to
    no URL outside ``allowed_base``, by default ``fhir_server`` itself; paging links outside it
    are not followed, nor are redirects). The whole fetch finishes within ``timeout_s``.
    Raises :class:`FhirUnavailable` when any key cannot be read completely.
    """
    wanted = list(dict.fromkeys(keys))
    unknown = [key for key in wanted if key not in PREFETCH_TEMPLATES]
    if unknown:
        raise ValueError(f"unknown prefetch keys: {', '.join(unknown)}")
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    base = _base_url(fhir_server)
    try:
        location = parse_fhir_url(base)
        scope = location if allowed_base is None else parse_fhir_url(allowed_base)
    except FhirBaseError as error:
        raise FhirUnavailable(f"fhirServer {error}") from None
    if not scope.contains(location):
        raise FhirUnavailable("fhirServer is not under the allowed FHIR server base")
    headers = _auth_headers(authorization)
    if not isinstance(patient_id, str) or not _FHIR_ID.fullmatch(patient_id):
        raise FhirUnavailable("context.patientId is not a FHIR id")
    if not wanted:
        return {}

    started = time.monotonic()
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
    own_client = client is None
    # trust_env=False: the EHR's FHIR server is reached directly, not through proxy settings.
    http = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)
    fetcher = _Fetcher(
        http, base, headers, patient_id=patient_id, timeout=timeout, max_pages=max_pages, scope=scope
    )
    try:
        async with asyncio.timeout(timeout_s):
            result = await _fetch_all(fetcher, patient_id, wanted)
    except TimeoutError:
        raise FhirUnavailable(f"the FHIR server did not answer within {timeout_s:g} s") from None
    finally:
        if own_client:
            await http.aclose()
    log.info("fhir fallback: %d keys read in %.0f ms", len(result), (time.monotonic() - started) * 1000)
    return result


async def _fetch_all(fetcher: _Fetcher, patient_id: str, wanted: list[str]) -> dict[str, dict[str, Any]]:
    searches = [key for key in wanted if key not in ("patient", "medications")]
    if "medications" in wanted:
        searches += [key for key in MEDICATION_KEYS if key not in searches]
    try:
        async with asyncio.TaskGroup() as group:
            patient_task = (
                group.create_task(fetcher.read_patient(patient_id)) if "patient" in wanted else None
            )
            search_tasks = {
                key: group.create_task(fetcher.search(key, *_search_params(key, patient_id)))
                for key in searches
            }
            medications_task = None
            if "medications" in wanted:

                async def medications() -> dict[str, Any]:
                    sources = [await search_tasks[key] for key in MEDICATION_KEYS]
                    return await fetcher.medications(sources)

                medications_task = group.create_task(medications())
    except* FhirUnavailable as failures:
        raise failures.exceptions[0] from None
    result: dict[str, dict[str, Any]] = {}
    for key in wanted:
        if key == "patient" and patient_task is not None:
            result[key] = patient_task.result()
        elif key == "medications" and medications_task is not None:
            result[key] = medications_task.result()
        else:
            result[key] = search_tasks[key].result()
    return result
