// In-memory FHIR R4 server for the igwatch tests: Medplum's FhirRouter over its MemoryRepository,
// behind node:http on 127.0.0.1, under the base path /fhir (the router itself is in fhir.mjs).
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
import { argPort, createFhirServer, outcome, send } from './fhir.mjs';

const expectedToken = process.env.FHIR_BEARER_TOKEN || undefined;

const fhir = createFhirServer({
  pageSize: Number.parseInt(process.env.FHIR_PAGE_SIZE ?? '20', 10),
  authorize: async (req) =>
    expectedToken && req.headers.authorization !== `Bearer ${expectedToken}`
      ? [401, outcome('error', 'login', 'Unauthorized'), { 'WWW-Authenticate': 'Bearer' }]
      : undefined,
});

const server = createServer((req, res) => {
  const ownBase = `http://127.0.0.1:${server.address().port}`;
  fhir.handle(req, res, ownBase).catch((err) => {
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
  process.stdout.write(JSON.stringify({ port, base: `http://127.0.0.1:${port}/fhir` }) + '\n');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
