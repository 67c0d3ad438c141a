import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DomainErrorCode } from '../src/common/errors/domain-error';
import { statusFor, toHttpError } from '../src/common/errors/http-error';
import { API_SCOPES } from '../src/applications/api-key-secret';
import { API_KEY_BEARER } from '../src/common/openapi/api-decorators';
import { ADMIN_SCOPES, type AdminTokenConfig } from '../src/config/environment';
import { newTestApplication, TEST_API_KEY, TEST_APPLICATION_ID } from './support/api-keys';
import { sqlPool } from './support/database';
import { launchBrowser } from './support/browser';
import { FakeGateway } from './support/fake-gateway';
import {
  type DocumentedOperation,
  type MediaType,
  type OpenApiDocument,
  operationsOf,
  registeredEndpoints,
  type ResponseDoc,
  type Schema,
  toOpenApiPath,
  validate,
} from './support/openapi';
import { type RunningApp, startApp, uniqueId, withTestKey, paymentState } from './support/test-app';

/**
 * What the app serves that is not part of the REST contract, and why. Every other route the app
 * registers must be documented, so a new controller without documentation fails this test.
 */
const OUTSIDE_THE_CONTRACT: { path: RegExp; why: string }[] = [
  { path: /^\/docs(\/.*|-json|-yaml)?$/, why: 'this document itself and the Swagger UI pages' },
  {
    path: /^\/metrics$/,
    why: "Prometheus's scrape endpoint: text exposition format, its own token, not for API clients",
  },
  { path: /^\/admin\/queues(\/.*)?$/, why: 'bull-board, a web UI mounted as an Express router' },
  {
    path: /^\/admin(\/console\.(js|css))?$/,
    why: "the admin console's web page and its assets (it calls /api/admin/...)",
  },
  {
    path: /^\/pay\/.*$/,
    why: "pages the buyer's browser opens (the return page after a vendor's page): HTML, not an API (docs/pay-modes.md)",
  },
];
const outsideTheContract = (path: string) => OUTSIDE_THE_CONTRACT.some((entry) => entry.path.test(path));

/** The only code in the error envelope that is not a DomainError's: toHttpError's answer to the unexpected. */
const UNEXPECTED_ERROR_CODE = 'INTERNAL_ERROR';

const ERROR_RESPONSE_REF = '#/components/schemas/ErrorResponse';
const ADMIN_BEARER = 'admin';
const SCOPE_EXTENSION = 'x-required-scope';

const tokenOf = (name: string) => `openapi-test-${name.replace(/[^a-z:]/g, '-')}-0123456789abcdef`;
const TOKENS: AdminTokenConfig[] = [
  { name: 'all', token: tokenOf('all'), scopes: [...ADMIN_SCOPES] },
  { name: 'none', token: tokenOf('none'), scopes: [] },
  ...ADMIN_SCOPES.flatMap((scope) => [
    { name: `only ${scope}`, token: tokenOf(`only ${scope}`), scopes: [scope] },
    { name: `all but ${scope}`, token: tokenOf(`but ${scope}`), scopes: ADMIN_SCOPES.filter((s) => s !== scope) },
  ]),
];
const token = (name: string) => TOKENS.find((t) => t.name === name)!.token;

/** The code of every DomainError subclass in src (`readonly code = '…'`), read from the source files. */
async function domainErrorCodes(): Promise<Set<string>> {
  const files = (await readdir('src', { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  const codes = new Set<string>();
  for (const file of files) {
    for (const match of (await readFile(join('src', file), 'utf8')).matchAll(/readonly code = '([A-Z_]+)'/g)) {
      codes.add(match[1]);
    }
  }
  return codes;
}

const label = ({ method, path }: DocumentedOperation) => `${method.toUpperCase()} ${path}`;

function examplesOf(media: MediaType): unknown[] {
  return [
    ...(media.example !== undefined ? [media.example] : []),
    ...Object.values(media.examples ?? {}).map((example) => example.value),
  ];
}

const codeOf = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
    ? (value as { code: string }).code
    : undefined;

/** Codes named by a response's examples, in any media type. */
function exampleCodes(response: ResponseDoc): Set<string> {
  const codes = Object.values(response.content ?? {}).flatMap((media) => examplesOf(media).map(codeOf));
  return new Set(codes.filter((code): code is string => code !== undefined));
}

/** Codes of a response documented with the error envelope. */
function envelopeCodes(response: ResponseDoc): string[] {
  const json = response.content?.['application/json'];
  if (json?.schema?.$ref !== ERROR_RESPONSE_REF) return [];
  return examplesOf(json)
    .map(codeOf)
    .filter((code): code is string => code !== undefined);
}

describe('OpenAPI document (e2e)', () => {
  let running: RunningApp;
  let doc: OpenApiDocument;
  let operations: DocumentedOperation[];
  /** API keys of the default test application: `only <scope>` and `all but <scope>` for each scope. */
  const apiKeys = new Map<string, string>([['all', TEST_API_KEY]]);
  const apiKey = (name: string) => apiKeys.get(name)!;

  beforeAll(async () => {
    const db = sqlPool();
    for (const scope of API_SCOPES) {
      for (const [name, scopes] of [
        [`only ${scope}`, [scope]],
        [`all but ${scope}`, API_SCOPES.filter((s) => s !== scope)],
      ] as const) {
        const key = await newTestApplication({ scopes });
        await db.query('UPDATE api_keys SET application_id = ? WHERE key_id = ?', [TEST_APPLICATION_ID, key.keyId]);
        apiKeys.set(name, key.secret);
      }
    }
    await db.end();
    running = await startApp(
      [new FakeGateway('wechat'), new FakeGateway('alipay'), new FakeGateway('unionpay')],
      undefined,
      { adminTokens: TOKENS },
    );
    const response = await fetch(`${running.url}/docs-json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await response.json()) as OpenApiDocument;
    // Operations on paths outside the contract (if their owners document them) are not held to it.
    operations = operationsOf(doc).filter((op) => !outsideTheContract(op.path));
  });

  afterAll(async () => {
    await running.close();
  });

  async function send(
    method: string,
    path: string,
    options: { token?: string; key?: string; body?: unknown } = {},
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    // No token named: the default test application's key on business paths; an empty one: none at all.
    const headers = withTestKey(
      `${running.url}${path}`,
      options.token === undefined ? {} : { authorization: options.token ? `Bearer ${options.token}` : '' },
    );
    if (options.key) headers['idempotency-key'] = options.key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${running.url}${path}`, {
      method: method.toUpperCase(),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body };
  }

  /** Why an answer is not what the operation documents, or undefined when it is. */
  function undocumentedAnswer(op: DocumentedOperation, answer: { status: number; body: unknown }): string | undefined {
    const response = op.op.responses[String(answer.status)];
    if (!response) return `${label(op)} answered ${answer.status}, which it does not document`;
    const codes = exampleCodes(response);
    const code = codeOf(answer.body);
    if (codes.size > 0 && code && !codes.has(code)) {
      return `${label(op)} answered ${answer.status} ${code}; documented: ${[...codes].join(', ')}`;
    }
    return undefined;
  }

  const isWrite = (method: string) => method !== 'get';
  const probePath = (path: string) => path.replace(/\{[^}]+\}/g, 'x');
  const schemaOf = (op: DocumentedOperation, status: string): Schema =>
    op.op.responses[status].content!['application/json'].schema!;
  const find = (method: string, path: string): DocumentedOperation => {
    const found = operations.find((o) => o.method === method && o.path === path);
    if (!found) throw new Error(`${method} ${path} is not documented`);
    return found;
  };

  /** What Swagger UI shows as the example value: property examples, composed. */
  function composedExample(schema: Schema): unknown {
    if (schema.example !== undefined) return schema.example;
    if (schema.$ref) return composedExample(doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
    if (schema.allOf?.length === 1) return composedExample(schema.allOf[0]);
    if (schema.enum) return schema.enum[0];
    if (schema.type === 'array' && schema.items) return [composedExample(schema.items)];
    if (schema.properties) {
      return Object.fromEntries(
        Object.entries(schema.properties).map(([name, property]) => [name, composedExample(property)]),
      );
    }
    return undefined;
  }

  it('serves Swagger UI with its scripts and styles from the app itself (no CDN)', async () => {
    const page = await fetch(`${running.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)=['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(assets.filter((asset) => /^(https?:)?\/\//.test(asset))).toEqual([]);
    const urls = assets.map((asset) => new URL(asset, `${running.url}/docs`).href);
    expect(urls.map((u) => new URL(u).pathname)).toEqual(
      expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js']),
    );
    for (const url of urls) {
      const asset = await fetch(url);
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      const type = asset.headers.get('content-type') ?? '';
      if (url.endsWith('.js')) expect(type).toMatch(/javascript/);
      if (url.endsWith('.css')) expect(type).toMatch(/^text\/css/);
      const body = await asset.text();
      expect(body.length).toBeGreaterThan(0);
      if (url.endsWith('swagger-ui-init.js')) expect(body).toMatch(/"title":\s*"Payment Center"/);
    }
  });

  it('renders every operation in a real browser without fetching anything from elsewhere', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const elsewhere: string[] = [];
      const failures: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(running.url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
      });
      page.on('requestfailed', (request) => failures.push(request.url()));
      page.on('pageerror', (error) => failures.push(error.message));
      await page.goto(`${running.url}/docs`);
      await page.waitForSelector('.opblock');
      expect(await page.locator('.info .title').innerText()).toContain('Payment Center');
      expect(await page.locator('.opblock').count()).toBe(operationsOf(doc).length);
      expect(elsewhere).toEqual([]);
      expect(failures).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('is an OpenAPI 3 document of this release, also served as YAML', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(doc.info.title).toBe('Payment Center');
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.info.description).toContain('docs/asyncapi.yaml');
    expect(doc.info.description).toContain('README.md');
    // Every $ref resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.filter((name) => !doc.components.schemas[name])).toEqual([]);
    expect(doc.components.securitySchemes?.[ADMIN_BEARER]).toMatchObject({ type: 'http', scheme: 'bearer' });

    const yaml = await fetch(`${running.url}/docs-yaml`);
    expect(yaml.status).toBe(200);
    expect(parseYaml(await yaml.text())).toEqual(doc);
  });

  it('documents every route the app registers, and only those', () => {
    const endpoints = registeredEndpoints(running.app).filter((e) => !outsideTheContract(e.path));
    expect(endpoints.length).toBeGreaterThan(10); // the router was read
    const registered = new Set(endpoints.map((e) => `${e.method.toUpperCase()} ${toOpenApiPath(e.path)}`));
    const documented = new Set(operations.map(label));
    expect([...registered].filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !registered.has(route))).toEqual([]);
  });

  it('describes every operation: summary, tag, a success response and the 500 envelope', () => {
    const problems: string[] = [];
    for (const op of operations) {
      const statuses = Object.keys(op.op.responses);
      if (!op.op.summary) problems.push(`${label(op)}: no summary`);
      if (!op.op.tags?.length) problems.push(`${label(op)}: no tag`);
      if (!statuses.some((s) => /^2\d\d$/.test(s))) problems.push(`${label(op)}: no success response`);
      if (envelopeCodes(op.op.responses['500'] ?? { description: '' })[0] !== UNEXPECTED_ERROR_CODE) {
        problems.push(`${label(op)}: no 500 ${UNEXPECTED_ERROR_CODE}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('lists only error codes that exist, each under the status the exception filter gives it, and all of them', async () => {
    const existing = await domainErrorCodes();
    expect(existing.size).toBeGreaterThan(20); // the source was read
    expect(toHttpError(new Error('boom'))).toMatchObject({ status: 500, body: { code: UNEXPECTED_ERROR_CODE } });
    const problems: string[] = [];
    const used = new Set<string>();
    for (const op of operations) {
      for (const [status, response] of Object.entries(op.op.responses)) {
        for (const code of envelopeCodes(response)) {
          used.add(code);
          if (code === UNEXPECTED_ERROR_CODE) {
            if (status !== '500') problems.push(`${label(op)}: ${code} under ${status}`);
          } else if (!existing.has(code)) problems.push(`${label(op)}: ${code} is no DomainError's code`);
          else if (String(statusFor(code as DomainErrorCode)) !== status) {
            problems.push(
              `${label(op)}: ${code} under ${status}, the filter answers ${statusFor(code as DomainErrorCode)}`,
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // A code no operation answers must be named in the description's list of internal codes, and only then.
    const internal = new Set([...doc.info.description!.matchAll(/^- `([A-Z_]+)`:/gm)].map((m) => m[1]));
    expect([...existing].filter((code) => !used.has(code) && !internal.has(code))).toEqual([]);
    expect([...internal].filter((code) => used.has(code) || !existing.has(code))).toEqual([]);
  });

  it('answers what it documents: authentication, scopes, the duplicate-submission guard, unknown numbers', async () => {
    const problems: string[] = [];
    const note = (problem: string | undefined) => problem && problems.push(problem);
    for (const op of operations) {
      const path = probePath(op.path);
      const admin = op.op.security?.some((requirement) => ADMIN_BEARER in requirement) ?? false;
      const business = op.op.security?.some((requirement) => API_KEY_BEARER in requirement) ?? false;
      const scope = op.op[SCOPE_EXTENSION] as string | undefined;

      // Without a token (and, for writes, with an invalid Idempotency-Key so nothing is written).
      const anonymous = await send(
        op.method,
        path,
        isWrite(op.method) ? { token: '', key: 'not valid', body: {} } : { token: '' },
      );
      note(undocumentedAnswer(op, anonymous));
      if ((admin || business) && anonymous.status !== 401)
        problems.push(`${label(op)}: needs a token, but ${anonymous.status} without one`);
      if (!admin && !business && [401, 403].includes(anonymous.status))
        problems.push(`${label(op)}: undocumented auth`);

      if (business) {
        if (!scope || !(API_SCOPES as readonly string[]).includes(scope))
          problems.push(`${label(op)}: scope ${scope}?`);
        const body = isWrite(op.method) ? {} : undefined;
        const lacking = await send(op.method, path, { token: apiKey(`all but ${scope}`), key: 'not valid', body });
        note(undocumentedAnswer(op, lacking));
        if (lacking.status !== 403) problems.push(`${label(op)}: needs ${scope}, yet ${lacking.status} without it`);
        const enough = await send(op.method, path, { token: apiKey(`only ${scope}`), key: 'not valid', body });
        note(undocumentedAnswer(op, enough));
        if ([401, 403].includes(enough.status)) problems.push(`${label(op)}: ${enough.status} with only ${scope}`);
      }

      if (admin) {
        if (scope && !(ADMIN_SCOPES as readonly string[]).includes(scope))
          problems.push(`${label(op)}: scope ${scope}?`);
        const lacking = await send(op.method, path, {
          token: token(scope ? `all but ${scope}` : 'none'),
          key: 'not valid',
          body: isWrite(op.method) ? {} : undefined,
        });
        note(undocumentedAnswer(op, lacking));
        if (scope && lacking.status !== 403)
          problems.push(`${label(op)}: needs ${scope}, yet ${lacking.status} without it`);
        if (!scope && [401, 403].includes(lacking.status)) problems.push(`${label(op)}: refused a token with no scope`);
        const enough = await send(op.method, path, {
          token: token(scope ? `only ${scope}` : 'none'),
          key: 'not valid',
          body: isWrite(op.method) ? {} : undefined,
        });
        note(undocumentedAnswer(op, enough));
        if ([401, 403].includes(enough.status)) problems.push(`${label(op)}: ${enough.status} with only ${scope}`);
      }

      // The duplicate-submission guard answers an invalid key before anything runs: then the key is documented.
      if (isWrite(op.method)) {
        const all = business ? apiKey('all') : token('all');
        const answer = await send(op.method, path, { token: all, key: 'not valid', body: {} });
        const guarded = answer.status === 400 && codeOf(answer.body) === 'IDEMPOTENCY_KEY_INVALID';
        const header = op.op.parameters?.some((p) => p.in === 'header' && p.name === 'Idempotency-Key') ?? false;
        if (guarded !== header) problems.push(`${label(op)}: guarded ${guarded}, Idempotency-Key documented ${header}`);
        if (guarded) {
          const codes = Object.values(op.op.responses).flatMap(envelopeCodes);
          for (const code of ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_KEY_REUSED']) {
            if (!codes.includes(code)) problems.push(`${label(op)}: ${code} not documented`);
          }
          const success = Object.entries(op.op.responses).filter(([status]) => /^2/.test(status));
          if (!success.every(([, r]) => r.headers?.['Idempotent-Replayed'])) {
            problems.push(`${label(op)}: Idempotent-Replayed not documented`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('has examples that fit their own schemas', () => {
    const problems: string[] = [];
    const check = (where: string, schema: Schema | undefined, value: unknown) => {
      if (schema) problems.push(...validate(doc, schema, value).map((p) => `${where}: ${p}`));
    };
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const [property, propertySchema] of Object.entries(schema.properties ?? {})) {
        if (propertySchema.example === undefined) continue;
        const { example, ...rest } = propertySchema;
        check(`${name}.${property}`, rest, example);
      }
    }
    let checked = 0;
    for (const op of operations) {
      for (const parameter of op.op.parameters ?? []) {
        if (parameter.example !== undefined)
          check(`${label(op)} ${parameter.name}`, parameter.schema, parameter.example);
      }
      const bodies = Object.entries(op.op.requestBody?.content ?? {}).map(
        ([type, media]) => [`request ${type}`, media] as const,
      );
      const responses = Object.entries(op.op.responses).flatMap(([status, response]) =>
        Object.entries(response.content ?? {}).map(([type, media]) => [`${status} ${type}`, media] as const),
      );
      for (const [where, media] of [...bodies, ...responses]) {
        for (const example of examplesOf(media)) {
          checked += 1;
          check(`${label(op)} ${where}`, media.schema, example);
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(problems).toEqual([]);
  });

  it('documents the shapes the API really answers with, starting from the documented examples', async () => {
    const key = () => randomUUID();
    const expectFits = (schema: Schema, body: unknown) => expect(validate(doc, schema, body)).toEqual([]);

    // Orders: every documented request example is accepted as it is.
    const create = find('post', '/api/orders');
    const json = create.op.requestBody!.content['application/json'];
    expect(Object.keys(json.examples ?? {}).length).toBeGreaterThan(0);
    const orders: { orderNo: string; amountFen: number }[] = [];
    for (const example of examplesOf(json)) {
      const created = await send('post', '/api/orders', { key: key(), body: example });
      expect(created.status).toBe(201);
      expectFits(schemaOf(create, '201'), created.body);
      orders.push(created.body as { orderNo: string; amountFen: number });
    }
    const order = orders[0];

    const pay = find('post', '/api/orders/{orderNo}/pay');
    const payBody = composedExample(pay.op.requestBody!.content['application/json'].schema!);
    const paid = await send('post', `/api/orders/${order.orderNo}/pay`, { key: key(), body: payBody });
    expect(paid.status).toBe(200);
    expectFits(schemaOf(pay, '200'), paid.body);
    const { paymentNo } = paid.body as { paymentNo: string };

    const read = await send('get', `/api/orders/${order.orderNo}`);
    expect(read.status).toBe(200);
    expectFits(schemaOf(find('get', '/api/orders/{orderNo}'), '200'), read.body);
    expect((read.body as { payments: unknown[] }).payments).toHaveLength(1);

    // Paid at the vendor, then refunded with the documented example body.
    await paymentState(running.app).apply(paymentNo, {
      type: 'PAID_CONFIRMED',
      gatewayTradeNo: uniqueId('wx'),
      paidAmountFen: order.amountFen,
      paidAt: new Date(),
    });
    const refund = find('post', '/api/payments/{paymentNo}/refunds');
    const refundBody = composedExample(refund.op.requestBody!.content['application/json'].schema!);
    const refunded = await send('post', `/api/payments/${paymentNo}/refunds`, { key: key(), body: refundBody });
    expect(refunded.status).toBe(201);
    expectFits(schemaOf(refund, '201'), refunded.body);

    const payment = await send('get', `/api/payments/${paymentNo}`);
    expect(payment.status).toBe(200);
    expectFits(schemaOf(find('get', '/api/payments/{paymentNo}'), '200'), payment.body);
    const detail = payment.body as { history: unknown[]; attempts: unknown[]; refunds: unknown[] };
    expect(detail.history.length).toBeGreaterThanOrEqual(2);
    expect(detail.attempts.length).toBeGreaterThanOrEqual(1); // the refund's gateway call
    expect(detail.refunds).toHaveLength(1);

    const { refundNo } = refunded.body as { refundNo: string };
    const readRefund = await send('get', `/api/refunds/${refundNo}`);
    expect(readRefund.status).toBe(200);
    expectFits(schemaOf(find('get', '/api/refunds/{refundNo}'), '200'), readRefund.body);

    // Admin: deliveries and reconciliation, each with a token holding only the scope the document names.
    const admin = (op: DocumentedOperation) => token(`only ${op.op[SCOPE_EXTENSION] as string}`);
    const list = find('get', '/api/admin/deliveries');
    const deliveries = await send('get', '/api/admin/deliveries?limit=5', { token: admin(list) });
    expect(deliveries.status).toBe(200);
    expectFits(schemaOf(list, '200'), deliveries.body);
    const bulk = find('post', '/api/admin/deliveries/retry');
    const dryRun = await send('post', '/api/admin/deliveries/retry', {
      token: admin(bulk),
      key: key(),
      body: { dryRun: true, partner: uniqueId('nobody') },
    });
    expect(dryRun.status).toBe(200);
    expectFits(schemaOf(bulk, '200'), dryRun.body);

    const run = find('post', '/api/admin/reconciliations');
    const runBody = composedExample(run.op.requestBody!.content['application/json'].schema!);
    const ran = await send('post', '/api/admin/reconciliations', { token: admin(run), key: key(), body: runBody });
    expect(ran.status).toBe(200);
    expectFits(schemaOf(run, '200'), ran.body);
    const runs = find('get', '/api/admin/reconciliations');
    const listed = await send('get', '/api/admin/reconciliations?limit=3', { token: admin(runs) });
    expect(listed.status).toBe(200);
    expectFits(schemaOf(runs, '200'), listed.body);
    const one = find('get', '/api/admin/reconciliations/{id}');
    const readRun = await send('get', `/api/admin/reconciliations/${(ran.body as { id: string }).id}`, {
      token: admin(one),
    });
    expect(readRun.status).toBe(200);
    expectFits(schemaOf(one, '200'), readRun.body);
  });
});
