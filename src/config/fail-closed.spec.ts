import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidEnvironment, validateEnvironment } from './environment';
import { isUnionPayProductionHost, SANDBOX_IN_PRODUCTION_OPT_IN } from './fail-closed';
import { MIN_SECRET_LENGTH, secretProblem } from './secret-rules';

const SECRET = 'f3b0c1d2e3a4958677889900aabbccdd'; // 32 characters
const partners = (secret = SECRET) =>
  JSON.stringify([{ name: 'orders', bindings: ['payment.#'], keyId: 'orders-1', secret }]);

/** What a production deployment on the vendors sets: the baseline each test breaks one thing of. */
function production(overrides: Record<string, string> = {}): Record<string, string> {
  const keys = mkdtempSync(join(tmpdir(), 'pc-live-keys-'));
  const file = (name: string) => {
    writeFileSync(join(keys, name), 'not read by the validation');
    return join(keys, name);
  };
  return {
    NODE_ENV: 'production',
    GATEWAY_MODE: 'live',
    PARTNERS: partners(),
    METRICS_TOKEN: 'm'.repeat(8) + SECRET,
    RABBITMQ_URL: 'amqps://payment-center:s3cret-broker-password@mq.internal:5671',
    WECHAT_MERCHANT_PRIVATE_KEY_FILE: file('apiclient_key.pem'),
    WECHAT_PLATFORM_KEYS: JSON.stringify({ PUB_KEY_ID_0114: file('pub_key.pem') }),
    ALIPAY_APP_PRIVATE_KEY_FILE: file('app-private.pem'),
    ALIPAY_PUBLIC_KEY_FILE: file('alipay-public.pem'),
    UNIONPAY_SIGN_KEY_FILE: file('sign.key'),
    UNIONPAY_SIGN_CERT_FILE: file('sign.cer'),
    UNIONPAY_ROOT_CERT_FILE: file('root.cer'),
    UNIONPAY_MIDDLE_CERT_FILE: file('middle.cer'),
    ...overrides,
  };
}

/** The refusals, one line each; fails the test when the environment is accepted. */
function refusals(raw: Record<string, string>): string[] {
  try {
    validateEnvironment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironment);
    return [...(error as InvalidEnvironment).problems];
  }
  throw new Error('expected the environment to be refused');
}

describe('production fails closed', () => {
  it('accepts a complete live production configuration', () => {
    expect(validateEnvironment(production())).toMatchObject({ NODE_ENV: 'production', GATEWAY_MODE: 'live' });
  });

  it.each([
    ['not set', { GATEWAY_MODE: '' }, /^GATEWAY_MODE=\(not set, so sandbox\): refused with NODE_ENV=production/],
    ['sandbox', { GATEWAY_MODE: 'sandbox' }, /^GATEWAY_MODE="sandbox": refused with NODE_ENV=production/],
  ])('refuses the sandbox (GATEWAY_MODE %s) without the opt-in', (_, overrides, message) => {
    const problems = refusals(production(overrides));
    expect(problems).toEqual([expect.stringMatching(message)]);
    expect(problems[0]).toContain(`ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION=${SANDBOX_IN_PRODUCTION_OPT_IN}`);
  });

  it('runs on the sandbox in production only with the exact opt-in phrase', () => {
    const env = production({
      GATEWAY_MODE: 'sandbox',
      ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION: SANDBOX_IN_PRODUCTION_OPT_IN,
    });
    expect(validateEnvironment(env).GATEWAY_MODE).toBe('sandbox');
    const loose = refusals({ ...env, ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION: 'true' });
    expect(loose).toEqual([
      expect.stringMatching(/^ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION="true": .*must be empty or exactly/),
      expect.stringMatching(/^GATEWAY_MODE="sandbox": refused/),
    ]);
  });

  it('keeps the sandbox as the default outside production', () => {
    expect(validateEnvironment({}).GATEWAY_MODE).toBe('sandbox');
    expect(validateEnvironment({ NODE_ENV: 'development' }).GATEWAY_MODE).toBe('sandbox');
  });

  it.each([
    ['WECHAT_API_BASE_URL', 'http://127.0.0.1:4010', /is the gateway sandbox \(SANDBOX_URL\)/],
    ['ALIPAY_GATEWAY_URL', 'http://localhost:4010/gateway.do', /is the gateway sandbox \(SANDBOX_URL\)/],
    ['UNIONPAY_GATEWAY_URL', 'http://sandbox:4010', /must be an https:\/\/ URL/],
    ['UNIONPAY_FILE_URL', 'http://filedownload.95516.com/', /must be an https:\/\/ URL/],
  ])('refuses live mode with %s=%s', (key, value, message) => {
    expect(refusals(production({ [key]: value }))).toEqual([expect.stringMatching(new RegExp(`^${key}="`))]);
    expect(refusals(production({ [key]: value }))[0]).toMatch(message);
  });

  it('refuses live mode with a key file from SANDBOX_KEYS_DIR', () => {
    const sandboxKeys = mkdtempSync(join(tmpdir(), 'pc-sandbox-keys-'));
    const file = join(sandboxKeys, 'wechat-merchant-private.pem');
    const problems = refusals(production({ SANDBOX_KEYS_DIR: sandboxKeys, WECHAT_MERCHANT_PRIVATE_KEY_FILE: file }));
    expect(problems).toEqual([
      `WECHAT_MERCHANT_PRIVATE_KEY_FILE="${file}": is one of the gateway sandbox's generated test keys, refused with GATEWAY_MODE=live`,
    ]);
  });

  it('refuses live mode with a key file from any folder of sandbox keys (a copy elsewhere)', () => {
    const copy = mkdtempSync(join(tmpdir(), 'pc-copied-keys-'));
    for (const meta of ['wechat.json', 'unionpay.json']) writeFileSync(join(copy, meta), '{}');
    const root = join(copy, 'unionpay-root-cert.pem');
    const platform = join(copy, 'wechat-platform-public.pem');
    const problems = refusals(
      production({ UNIONPAY_ROOT_CERT_FILE: root, WECHAT_PLATFORM_KEYS: JSON.stringify({ PUB_KEY_ID_1: platform }) }),
    );
    expect(problems.map((p) => p.split('=')[0]).sort()).toEqual([
      'UNIONPAY_ROOT_CERT_FILE',
      'WECHAT_PLATFORM_KEYS.PUB_KEY_ID_1',
    ]);
  });

  it.each([
    ['PARTNERS', { PARTNERS: '' }, /^PARTNERS=\(not set\): required with NODE_ENV=production/],
    ['METRICS_TOKEN', { METRICS_TOKEN: '' }, /^METRICS_TOKEN=\(not set\): required with NODE_ENV=production/],
    ['RABBITMQ_URL (guest)', { RABBITMQ_URL: 'amqp://guest:guest@mq:5672' }, /^RABBITMQ_URL: the user is "guest"/],
    ['RABBITMQ_URL (no user)', { RABBITMQ_URL: 'amqp://mq:5672' }, /^RABBITMQ_URL: the user is \(none, so "guest"\)/],
  ])('requires %s in production', (_, overrides, message) => {
    expect(refusals(production(overrides))).toEqual([expect.stringMatching(message)]);
  });

  it('accepts PARTNERS=[] in production (no event consumers) and no PARTNERS outside it', () => {
    expect(validateEnvironment(production({ PARTNERS: '[]' })).PARTNERS).toBe('[]');
    expect(validateEnvironment({ PARTNERS: '' }).PARTNERS).toBe('[]');
  });

  it('does not print the broker password when it refuses the guest user', () => {
    expect(refusals(production({ RABBITMQ_URL: 'amqp://guest:hunter2-broker@mq:5672' })).join('\n')).not.toContain(
      'hunter2',
    );
  });
});

describe('no secret has a usable default', () => {
  const shortSecret = 'x'.repeat(MIN_SECRET_LENGTH - 1);
  const admin = (token: string) => JSON.stringify([{ name: 'ops-alice', token, scopes: ['deliveries:read'] }]);

  it.each([
    ['PARTNERS', 'PARTNERS[0].secret (partner orders)', 'local-only-orders-secret-change-me'],
    ['PARTNERS', 'PARTNERS[0].secret (partner orders)', shortSecret],
    ['ADMIN_TOKENS', 'ADMIN_TOKENS[0].token (ops-alice)', 'a-long-random-local-token'],
    ['ADMIN_TOKENS', 'ADMIN_TOKENS[0].token (ops-alice)', shortSecret],
    ['ADMIN_TOKENS', 'ADMIN_TOKENS[0].token (ops-alice)', '<at least 32 characters>'],
    ['METRICS_TOKEN', 'METRICS_TOKEN', shortSecret],
    ['METRICS_TOKEN', 'METRICS_TOKEN', 'please-change-me-before-deploying-this'],
  ])(
    'refuses a placeholder or short %s in any environment, naming it (%s) and not printing it',
    (key, named, secret) => {
      const raw = { [key]: key === 'PARTNERS' ? partners(secret) : key === 'ADMIN_TOKENS' ? admin(secret) : secret };
      for (const env of [raw, production(raw)]) {
        const problems = refusals(env);
        expect(problems).toEqual([expect.stringContaining(named)]);
        expect(problems[0]).not.toContain(secret);
      }
    },
  );

  it('never prints a malformed secret-bearing value', () => {
    const problems = refusals({ PARTNERS: `[{"name":"orders","secret":"${SECRET}"}]`, METRICS_TOKEN: `a b ${SECRET}` });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'METRICS_TOKEN=(set, not shown)',
      'PARTNERS=(set, not shown)',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
  });

  it('masks the password of a malformed broker or Redis URL', () => {
    const problems = refusals({
      RABBITMQ_URL: 'http://pc:hunter2-password@mq',
      REDIS_URL: 'pc:hunter2-password@redis',
    });
    expect(problems.map((p) => p.split(': ')[0])).toEqual([
      'REDIS_URL="pc:***@redis"',
      'RABBITMQ_URL="http://pc:***@mq"',
    ]);
  });

  it('secretProblem: 32 characters is the minimum; the repository’s examples never pass', () => {
    expect(secretProblem('y'.repeat(32))).toBeUndefined();
    expect(secretProblem('y'.repeat(31))).toMatch(/at least 32 characters \(has 31\)/);
    expect(secretProblem('local-only-orders-secret-change-me')).toMatch(/published placeholder/);
    expect(secretProblem('REPLACE_ME_WITH_A_REAL_SECRET_OF_40_CHARS')).toMatch(/published placeholder/);
  });
});

describe('the UnionPay CN check', () => {
  it('cannot be switched off against UnionPay’s production host, in any environment', () => {
    for (const env of [{}, production()]) {
      const problems = refusals({ ...env, UNIONPAY_REQUIRE_UNIONPAY_CN: 'false' });
      expect(problems).toEqual([
        expect.stringMatching(/^UNIONPAY_REQUIRE_UNIONPAY_CN=false: refused while UNIONPAY_GATEWAY_URL/),
      ]);
    }
  });

  it('may be switched off against UnionPay’s test environment', () => {
    const env = { UNIONPAY_REQUIRE_UNIONPAY_CN: 'false', UNIONPAY_GATEWAY_URL: 'https://gateway.test.95516.com' };
    expect(validateEnvironment(env).UNIONPAY_REQUIRE_UNIONPAY_CN).toBe(false);
  });

  it.each([
    ['https://gateway.95516.com', true],
    ['https://GATEWAY.95516.COM./gateway/api', true],
    ['https://filedownload.95516.com/', true],
    ['not a url', true],
    ['https://gateway.test.95516.com', false],
    ['https://gateway.95516.com.example.org', false],
    ['http://127.0.0.1:4010', false],
  ])('isUnionPayProductionHost(%s) = %s', (url, expected) => {
    expect(isUnionPayProductionHost(url)).toBe(expected);
  });
});

describe('refusals of a sandbox key folder need the folder itself to be one', () => {
  it('accepts live key files in a folder beside (not inside) SANDBOX_KEYS_DIR', () => {
    const parent = mkdtempSync(join(tmpdir(), 'pc-beside-'));
    mkdirSync(join(parent, 'sandbox-keys'));
    mkdirSync(join(parent, 'sandbox-keys-live'));
    const file = join(parent, 'sandbox-keys-live', 'apiclient_key.pem');
    writeFileSync(file, '');
    const env = production({ SANDBOX_KEYS_DIR: join(parent, 'sandbox-keys'), WECHAT_MERCHANT_PRIVATE_KEY_FILE: file });
    expect(validateEnvironment(env).WECHAT_MERCHANT_PRIVATE_KEY_FILE).toBe(file);
  });
});

describe('docker-compose.yml (no Docker engine here: read and checked as data)', () => {
  type Service = { environment?: Record<string, string>; ports?: string[]; command?: string[] };
  const compose = parseYaml(readFileSync(join(process.cwd(), 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
  };
  /** Compose's interpolation: `${VAR}`, `${VAR:?error}` (stops when unset), `${VAR:-default}`. */
  const interpolate = (text: string, vars: Record<string, string>) =>
    text.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
      if (vars[name]) return vars[name];
      if (kind === '?') throw new Error(`compose stops: ${name}: ${rest}`);
      return kind === '-' ? (rest ?? '') : '';
    });
  const vars = {
    ORDERS_EVENTS_SECRET: 'c0ffee0123456789abcdef0123456789abcdef01',
    METRICS_TOKEN: 'metrics0123456789abcdef0123456789abcdef',
    RABBITMQ_PASSWORD: 'Demo0123456789',
  };
  const appEnvironment = (given: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(compose.services.app.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), given)]),
    );

  it('publishes every port on the host’s loopback only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) expect(`${name} ${port}`).toMatch(/^\S+ 127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('runs the sandbox on all interfaces of its container, published on the host’s loopback', () => {
    expect(compose.services.sandbox.environment).toMatchObject({ SANDBOX_HOST: '0.0.0.0', SANDBOX_PORT: '4010' });
    expect(compose.services.sandbox.ports).toEqual(['127.0.0.1:4010:4010']);
  });

  it('gives the production image (NODE_ENV=production) a configuration it accepts, once the secrets are given', () => {
    const env = validateEnvironment({ ...appEnvironment(vars), NODE_ENV: 'production' });
    expect(env).toMatchObject({ GATEWAY_MODE: 'sandbox', METRICS_TOKEN: vars.METRICS_TOKEN });
    expect(env.RABBITMQ_URL).toBe(`amqp://payment-center:${vars.RABBITMQ_PASSWORD}@rabbitmq:5672`);
    expect(compose.services.rabbitmq.environment).toMatchObject({ RABBITMQ_DEFAULT_USER: 'payment-center' });
  });

  it.each(Object.keys(vars))('stops before starting anything when %s is not given', (name) => {
    const given: Record<string, string> = { ...vars, [name]: '' };
    expect(() => appEnvironment(given)).toThrow(`compose stops: ${name}`);
  });
});

describe('the SSRF guard at start: PARTNERS webhook URLs and WEBHOOK_ALLOWED_NETWORKS', () => {
  const webhookPartners = (url: string) =>
    JSON.stringify([
      { name: 'orders', bindings: ['payment.#'], keyId: 'orders-1', secret: SECRET },
      { name: 'shop', bindings: ['payment.#'], keyId: 'shop-1', secret: SECRET, transport: 'webhook', url },
    ]);
  const local = (url: string, more: Record<string, string> = {}) => ({ PARTNERS: webhookPartners(url), ...more });
  const inProduction = (url: string, more: Record<string, string> = {}) =>
    production({ PARTNERS: webhookPartners(url), ...more });

  it('accepts an https URL naming a host, outside production and in it', () => {
    expect(validateEnvironment(local('https://shop.example.com/hooks/pc')).PARTNERS).toContain('shop.example.com');
    expect(validateEnvironment(inProduction('https://shop.example.com/hooks/pc')).NODE_ENV).toBe('production');
    expect(validateEnvironment(inProduction('https://8.8.8.8/hooks/pc')).NODE_ENV).toBe('production');
  });

  it.each([
    ['https://10.0.0.5/hook', /names a refused address: 10\.0\.0\.5 is not a public address/],
    ['https://172.16.3.4/hook', /names a refused address: 172\.16\.3\.4 is not a public address/],
    ['https://192.168.1.1/hook', /names a refused address: 192\.168\.1\.1 is not a public address/],
    ['https://169.254.169.254/latest/meta-data', /names a refused address: 169\.254\.169\.254 is not a public/],
    ['https://[fd00::1]/hook', /names a refused address: fd00::1 is not a public address/],
    ['https://[::ffff:10.0.0.1]/hook', /names a refused address: 10\.0\.0\.1 is not a public address/],
    ['https://0.0.0.0/hook', /names a refused address: 0\.0\.0\.0 is not a public address/],
    ['http://0.0.0.0/hook', /must be https:\/\//],
    ['http://shop.example.com/hook', /must be https:\/\/ \(http:\/\/ only to a loopback host/],
    ['http://8.8.8.8/hook', /must be https:\/\//],
    ['https://user:pass@shop.example.com/hook', /may not carry a user name or password/],
    ['https://shop.example.com/hook#fragment', /may not have a fragment/],
    ['shop.example.com/hook', /is not a URL/],
  ])('refuses %s, naming PARTNERS[1].url', (url, reason) => {
    const problems = refusals(local(url));
    expect(problems).toEqual([expect.stringMatching(/^PARTNERS\[1\]\.url \(partner shop\) /)]);
    expect(problems[0]).toMatch(reason);
  });

  it('refuses loopback in production, over http or https, unless its network is listed', () => {
    for (const url of ['http://127.0.0.1:4000/hook', 'http://localhost:4000/hook', 'http://0x7f.1/hook']) {
      expect(refusals(inProduction(url))).toEqual([
        expect.stringMatching(/^PARTNERS\[1\]\.url \(partner shop\) must be https:\/\//),
      ]);
    }
    for (const [url, address] of [
      ['https://127.0.0.1/hook', '127.0.0.1'],
      ['https://[::1]/hook', '::1'],
      ['https://0x7f.1/hook', '127.0.0.1'],
    ]) {
      expect(refusals(inProduction(url))).toEqual([
        `PARTNERS[1].url (partner shop) names a refused address: ${address} is a loopback address ` +
          '(allow its network with WEBHOOK_ALLOWED_NETWORKS)',
      ]);
    }
    // WEBHOOK_ALLOW_LOOPBACK does not reach production.
    expect(refusals(inProduction('https://127.0.0.1/hook', { WEBHOOK_ALLOW_LOOPBACK: 'true' }))).toHaveLength(1);
    const listed = { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128' };
    expect(validateEnvironment(inProduction('https://127.0.0.1/hook', listed)).NODE_ENV).toBe('production');
    expect(validateEnvironment(inProduction('https://[::1]/hook', listed)).NODE_ENV).toBe('production');
    expect(refusals(inProduction('http://127.0.0.1/hook', listed))).toEqual([
      expect.stringMatching(/^PARTNERS\[1\]\.url \(partner shop\) must be https:\/\//),
    ]);
  });

  it('allows loopback over http outside production (a receiver on the developer’s machine), unless switched off', () => {
    for (const url of ['http://127.0.0.1:4000/hook', 'http://[::1]:4000/hook', 'http://localhost:4000/hook']) {
      expect(validateEnvironment(local(url)).PARTNERS).toContain(url);
    }
    // http://0x7f.1/ is 127.0.0.1 to the URL parser, and so to the connection.
    expect(validateEnvironment(local('http://0x7f.1/hook')).PARTNERS).toContain('0x7f.1');
    expect(refusals(local('http://127.0.0.1:4000/hook', { WEBHOOK_ALLOW_LOOPBACK: 'false' }))).toEqual([
      'PARTNERS[1].url (partner shop) names a refused address: 127.0.0.1 is a loopback address ' +
        '(allow its network with WEBHOOK_ALLOWED_NETWORKS)',
    ]);
  });

  it.each([
    ['https://10.0.0.5/hook', '10.0.0.0/24'],
    ['https://172.16.3.4/hook', '172.16.0.0/12'],
    ['https://192.168.1.1/hook', '10.20.0.0/16, 192.168.1.0/24'],
    ['https://[fd00::1]/hook', 'fd00::/64'],
    ['https://[::ffff:10.0.0.1]/hook', '10.0.0.0/8'],
  ])('accepts %s when WEBHOOK_ALLOWED_NETWORKS lists its network (%s), in production too', (url, networks) => {
    expect(validateEnvironment(local(url, { WEBHOOK_ALLOWED_NETWORKS: networks })).PARTNERS).toContain('shop');
    expect(validateEnvironment(inProduction(url, { WEBHOOK_ALLOWED_NETWORKS: networks })).NODE_ENV).toBe('production');
    expect(refusals(local(url, { WEBHOOK_ALLOWED_NETWORKS: '100.64.0.0/10' }))).toEqual([
      expect.stringMatching(/^PARTNERS\[1\]\.url \(partner shop\) names a refused address/),
    ]);
  });

  it.each([['10.0.0.0'], ['10.0.0.0/33'], ['intranet'], ['10.0.0.0/8 192.168.0.0/16'], ['fd00::/200']])(
    'refuses WEBHOOK_ALLOWED_NETWORKS=%s, naming the key',
    (networks) => {
      const problems = refusals({ WEBHOOK_ALLOWED_NETWORKS: networks });
      expect(problems).toEqual([
        expect.stringMatching(/^WEBHOOK_ALLOWED_NETWORKS=".*": ".*" is not a network in CIDR form such as 10\.20/),
      ]);
    },
  );

  it('does not check the URLs of amqp partners (they have none) and names each refused webhook', () => {
    const partners = JSON.stringify([
      { name: 'orders', bindings: ['payment.#'], keyId: 'orders-1', secret: SECRET },
      {
        name: 'a',
        bindings: ['payment.#'],
        keyId: 'a-1',
        secret: SECRET,
        transport: 'webhook',
        url: 'https://10.1.1.1',
      },
      {
        name: 'b',
        bindings: ['payment.#'],
        keyId: 'b-1',
        secret: SECRET,
        transport: 'webhook',
        url: 'https://b.example',
      },
      {
        name: 'c',
        bindings: ['payment.#'],
        keyId: 'c-1',
        secret: SECRET,
        transport: 'webhook',
        url: 'http://c.example',
      },
    ]);
    expect(refusals({ PARTNERS: partners }).map((p) => p.split(' (')[0])).toEqual([
      'PARTNERS[1].url',
      'PARTNERS[3].url',
    ]);
  });
});
