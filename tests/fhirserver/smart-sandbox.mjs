// A SMART on FHIR sandbox for igwatch: oidc-provider (the certified Node OpenID provider) as the
// EHR's authorization server, the in-memory FHIR server of fhir.mjs behind it, and a tiny "EHR"
// that launches an app with a patient in context. One process, one loopback port:
//
//   node smart-sandbox.mjs [--port N]
//
// Prints one JSON line {"port", "issuer", "fhir_base", "admin_token"} on stdout once listening.
//
//   /fhir/...                           FHIR R4; every request needs an access token issued here
//                                       whose scopes cover the resource type (patient/<Type>.rs,
//                                       .read, .r, .s or patient/*.*) and whose patient context is
//                                       the patient asked about. The admin token may do anything
//                                       (the tests load data with it).
//   /fhir/.well-known/smart-configuration   SMART App Launch 2.x discovery
//   /auth /token /jwks /reg /me ...     oidc-provider: authorization code + PKCE S256, refresh
//                                       tokens, dynamic client registration (open, as a sandbox),
//                                       client_secret_basic, private_key_jwt and public clients;
//                                       the login and consent pages are oidc-provider's own
//                                       development pages (any user name and password log in).
//   /.well-known/openid-configuration   OpenID Connect discovery (igwatch's single sign-on uses it)
//   GET /ehr/launch?patient=ID&app=URL  the EHR launching an app: makes a launch id for the
//                                       patient and redirects to URL?iss=<fhir base>&launch=<id>
// Test controls (no token needed):
//   PUT /_test/standalone-patient {"patient": ID}  the patient a standalone launch picks
//   PUT /_test/access-token-ttl {"seconds": N}     lifetime of access tokens issued from now on
//   PUT /_test/withhold-scopes {"scopes": [...]}   scopes the server will not grant from now on
//   PUT /_test/refuse-tokens {"refuse": bool}      the FHIR server refuses every access token
//   PUT /_test/revoke-access-tokens {}             the FHIR server refuses the access tokens issued
//                                                  so far (as if they had expired there)
//   PUT /_test/groups {"user": NAME, "groups": [...]}  the groups claim of a user's ID token
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { argPort, createFhirServer, outcome, readBody, send } from './fhir.mjs';

const RESOURCE_TYPES = [
  'Patient', 'Observation', 'Condition', 'Encounter', 'MedicationStatement', 'MedicationRequest',
  'MedicationAdministration', 'Immunization', 'Medication', 'AllergyIntolerance', 'Procedure',
];
const SUFFIXES = ['rs', 'r', 's', 'read', 'cruds', 'write'];
const CLINICAL_SCOPES = [
  ...['patient', 'user'].flatMap((level) =>
    ['*', ...RESOURCE_TYPES].flatMap((type) => SUFFIXES.map((suffix) => `${level}/${type}.${suffix}`))
  ),
];
const OIDC_SCOPES = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'online_access', 'offline_access'];

const adminToken = randomBytes(24).toString('base64url');
const launches = new Map(); // launch id -> patient id
const contextByCode = new Map(); // authorization code -> patient id
const contextByGrant = new Map(); // grant id -> patient id (refresh tokens keep the patient)
const groupsByUser = new Map();
let standalonePatient;
let accessTokenTtl = 3600;
let withheld = new Set();
let refuseTokens = false;
const issuedAccessTokens = new Set();
const revokedAccessTokens = new Set();

const server = createServer();
server.listen(argPort(), '127.0.0.1', () => {
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  const fhirBase = `${origin}/fhir`;
  const provider = makeProvider(origin, fhirBase);
  const fhir = createFhirServer({ authorize: (req, segments, params) => authorize(provider, req, segments, params) });
  const oidc = provider.callback();

  server.on('request', (req, res) => {
    handle(req, res, { origin, fhirBase, fhir, oidc }).catch((err) => {
      const text = err instanceof SyntaxError ? 'request body is not JSON' : 'internal error';
      if (!res.headersSent) {
        send(res, err instanceof SyntaxError ? 400 : 500, outcome('error', 'exception', text));
      } else {
        res.destroy();
      }
    });
  });
  process.stdout.write(JSON.stringify({ port, issuer: origin, fhir_base: fhirBase, admin_token: adminToken }) + '\n');
});

function makeProvider(origin, fhirBase) {
  const provider = new Provider(origin, {
    clients: [],
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt', 'none'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'] },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => fhirBase,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== fhirBase) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: CLINICAL_SCOPES.filter((s) => !withheld.has(s)).join(' '),
            audience: fhirBase,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name', 'groups'] },
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, name: id, fhirUser: `${fhirBase}/Practitioner/${id}`, groups: groupsByUser.get(id) ?? [] }),
    }),
    extraParams: {
      launch: undefined,
      aud: (ctx, value) => {
        if (value !== undefined && value.replace(/\/$/, '') !== fhirBase) {
          throw new errors.InvalidRequest('aud is not the FHIR server of this authorization server');
        }
      },
    },
    pkce: { required: () => true },
    // The user's claims (name, groups, fhirUser) go into the ID token itself, as igwatch's single
    // sign-on reads them there.
    conformIdTokenClaims: false,
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    async extraTokenClaims(ctx, token) {
      const code = ctx.oidc.entities.AuthorizationCode;
      const refresh = ctx.oidc.entities.RefreshToken;
      let patient;
      if (code) {
        patient = contextByCode.get(code.jti);
        contextByCode.delete(code.jti);
        if (patient) {
          contextByGrant.set(token.grantId, patient);
        }
      } else if (refresh) {
        patient = contextByGrant.get(refresh.grantId);
      }
      return patient ? { patient } : undefined;
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, RefreshToken: 3600, IdToken: 600 },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`sandbox: server_error ${err?.stack ?? err}\n`));

  // The launch context: the patient of an EHR launch (launch id) or of a standalone launch
  // (launch/patient), remembered against the authorization code the redirect carries.
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if ((route === 'authorization' || route === 'resume') && (ctx.status === 302 || ctx.status === 303)) {
      const location = ctx.response.get('location');
      if (!location || !ctx.oidc?.params) {
        return;
      }
      const code = new URL(location, origin).searchParams.get('code');
      if (!code) {
        return;
      }
      const scopes = String(ctx.oidc.params.scope ?? '').split(' ');
      let patient;
      if (ctx.oidc.params.launch && scopes.includes('launch')) {
        patient = launches.get(ctx.oidc.params.launch);
      } else if (scopes.includes('launch/patient')) {
        patient = standalonePatient;
      }
      if (patient) {
        contextByCode.set(code, patient);
      }
    }
    if (route === 'token' && ctx.status === 200 && ctx.body?.access_token) {
      issuedAccessTokens.add(ctx.body.access_token);
      const token = await provider.AccessToken.find(ctx.body.access_token);
      if (token?.extra?.patient) {
        ctx.body = { ...ctx.body, patient: token.extra.patient, need_patient_banner: true };
      }
    }
  });
  return provider;
}

function scopeAllows(scopes, type, method) {
  const wanted = method === 'GET' ? ['rs', 'r', 's', 'read', 'cruds'] : ['cruds', 'write'];
  return ['patient', 'user'].some((level) =>
    [type, '*'].some((t) => wanted.some((suffix) => scopes.has(`${level}/${t}.${suffix}`)))
  );
}

// The FHIR server's check of an access token: known, unexpired, scoped to the type, and (with a
// patient context) about that patient only.
async function authorize(provider, req, segments, params) {
  const header = req.headers.authorization ?? '';
  const refusal = (status, code, text) => [status, outcome('error', code, text), status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}];
  if (!header.startsWith('Bearer ')) {
    return refusal(401, 'login', 'Unauthorized');
  }
  const value = header.slice('Bearer '.length);
  if (value === adminToken) {
    return undefined;
  }
  if (refuseTokens || revokedAccessTokens.has(value)) {
    return refusal(401, 'login', 'token refused');
  }
  const token = await provider.AccessToken.find(value);
  if (!token) {
    return refusal(401, 'login', 'token unknown or expired');
  }
  const scopes = new Set(String(token.scope ?? '').split(' '));
  const type = segments[0];
  if (!type || !scopeAllows(scopes, type, req.method)) {
    return refusal(403, 'forbidden', `no scope for ${type ?? 'this request'}`);
  }
  const patient = token.extra?.patient;
  if (patient && type !== 'Medication') {
    const asked = type === 'Patient' ? segments[1] ?? params.get('_id') : params.get('patient') ?? params.get('subject');
    if (asked?.replace(/^Patient\//, '') !== patient) {
      return refusal(403, 'forbidden', 'outside the patient in context');
    }
  }
  return undefined;
}

function smartConfiguration(origin) {
  return {
    issuer: origin,
    jwks_uri: `${origin}/jwks`,
    authorization_endpoint: `${origin}/auth`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/reg`,
    introspection_endpoint: `${origin}/token/introspection`,
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: [...OIDC_SCOPES, ...CLINICAL_SCOPES],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric',
      'client-confidential-asymmetric', 'context-ehr-patient', 'context-standalone-patient',
      'sso-openid-connect', 'permission-offline', 'permission-online', 'permission-patient', 'permission-v1',
      'permission-v2', 'authorize-post',
    ],
  };
}

async function handle(req, res, { origin, fhirBase, fhir, oidc }) {
  const url = new URL(req.url, origin);
  const path = url.pathname;
  if (path === '/fhir/.well-known/smart-configuration') {
    send(res, 200, smartConfiguration(origin), { 'Content-Type': 'application/json' });
    return;
  }
  if (path === '/ehr/launch' && req.method === 'GET') {
    const patient = url.searchParams.get('patient');
    const app = url.searchParams.get('app');
    if (!patient || !app) {
      send(res, 400, outcome('error', 'required', 'patient and app are required'));
      return;
    }
    const launch = randomBytes(12).toString('base64url');
    launches.set(launch, patient);
    const target = new URL(app);
    target.searchParams.set('iss', fhirBase);
    target.searchParams.set('launch', launch);
    res.writeHead(302, { Location: target.toString() });
    res.end();
    return;
  }
  if (path.startsWith('/_test/') && req.method === 'PUT') {
    const body = (await readBody(req)) ?? {};
    if (path === '/_test/standalone-patient') {
      standalonePatient = body.patient;
    } else if (path === '/_test/access-token-ttl') {
      accessTokenTtl = body.seconds;
    } else if (path === '/_test/withhold-scopes') {
      withheld = new Set(body.scopes ?? []);
    } else if (path === '/_test/refuse-tokens') {
      refuseTokens = Boolean(body.refuse);
    } else if (path === '/_test/revoke-access-tokens') {
      issuedAccessTokens.forEach((t) => revokedAccessTokens.add(t));
    } else if (path === '/_test/groups') {
      groupsByUser.set(body.user, body.groups ?? []);
    } else {
      send(res, 404, outcome('error', 'not-found', 'no such test control'));
      return;
    }
    send(res, 200, { ok: true });
    return;
  }
  if (path === '/fhir' || path.startsWith('/fhir/') || path.startsWith('/_test/')) {
    await fhir.handle(req, res, origin);
    return;
  }
  oidc(req, res);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
