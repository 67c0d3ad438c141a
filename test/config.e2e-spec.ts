import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './support/amqp';
import { freePort, sandboxKeys } from './support/sandbox';

/** Boots the built app (`npm run build` runs first in `npm test`) with a bad setting and watches it refuse. */
describe('configuration is validated at boot', () => {
  const main = join(process.cwd(), 'dist', 'src', 'main.js');

  function boot(env: Record<string, string>) {
    return spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd: join(process.cwd(), 'test'), // no .env here
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  beforeAll(() => {
    if (!existsSync(main)) throw new Error('dist/src/main.js is missing: run `npm run build` first (npm test does)');
  });

  it.each([
    ['DB_PORT', 'not-a-port'],
    ['REDIS_URL', '127.0.0.1:6379'],
    ['ORDER_EXPIRES_IN_SECONDS', '5'],
    ['DB_MIGRATE_ON_START', 'maybe'],
  ])('a malformed %s stops the app with a message naming the key', (key, value) => {
    const result = boot({ [key]: value });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain(`${key}="${value}"`);
    expect(result.stdout).not.toContain('listening');
  });

  describe('production fails closed', () => {
    const secret = 'b7e1f0c2d3a4958677889900aabbccdd0011';
    const complete = {
      NODE_ENV: 'production',
      PARTNERS: JSON.stringify([{ name: 'orders', bindings: ['payment.#'], keyId: 'orders-1', secret }]),
      METRICS_TOKEN: `metrics-${secret}`,
      RABBITMQ_URL: 'amqp://payment-center:broker-password-0123456789@127.0.0.1:5672',
    };

    function refused(env: Record<string, string>): string {
      const result = boot(env);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Invalid configuration');
      expect(result.stdout).not.toContain('listening');
      return result.stderr;
    }

    it('NODE_ENV=production with no other setting names everything it lacks', () => {
      const stderr = refused({ NODE_ENV: 'production' });
      for (const key of ['GATEWAY_MODE=(not set, so sandbox)', 'PARTNERS=(not set)', 'METRICS_TOKEN=(not set)']) {
        expect(stderr).toContain(key);
      }
      expect(stderr).toContain('RABBITMQ_URL: the user is "guest"');
    });

    it('starts on the sandbox with the exact opt-in, and says so in a warning', async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [main], {
        env: {
          ...process.env, // the test database
          ...complete,
          // No broker user of ours here: nothing that needs the broker runs, and the API serves without it.
          CONSUMERS_ENABLED: 'false',
          RELAY_ENABLED: 'false',
          GATEWAY_MODE: 'sandbox',
          ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION: 'i-understand-this-takes-no-real-money',
          SANDBOX_KEYS_DIR: sandboxKeys('pc-optin-'),
          PORT: String(port),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(
          'the app to serve',
          async () => {
            if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${output}`);
            return (await fetch(`http://127.0.0.1:${port}/docs-json`).catch(() => undefined))?.status === 200;
          },
          60_000,
        );
        // Log lines reach stdout in batches (every 100 ms): the warning may come just after the first answer.
        const warning = 'GATEWAY_MODE=sandbox in production (ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION)';
        await waitFor('the opt-in warning', () => Promise.resolve(output.includes(warning)), 5_000);
        expect(output).not.toContain(secret);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    });

    it('refuses the sandbox without the opt-in, and a loose opt-in', () => {
      expect(refused({ ...complete, GATEWAY_MODE: 'sandbox' })).toContain(
        'GATEWAY_MODE="sandbox": refused with NODE_ENV=production',
      );
      expect(refused({ ...complete, ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION: 'yes' })).toContain(
        'ALLOW_SANDBOX_GATEWAYS_IN_PRODUCTION="yes"',
      );
    });

    it('refuses live mode pointed at the sandbox', () => {
      const stderr = refused({ ...complete, GATEWAY_MODE: 'live', WECHAT_API_BASE_URL: 'http://127.0.0.1:4010' });
      expect(stderr).toContain('WECHAT_API_BASE_URL="http://127.0.0.1:4010": is the gateway sandbox');
    });

    it('refuses a published placeholder secret, naming the key and not printing the secret', () => {
      const placeholder = 'local-only-orders-secret-change-me';
      const partners = JSON.stringify([{ name: 'orders', bindings: ['payment.#'], keyId: 'o', secret: placeholder }]);
      const stderr = refused({ ...complete, PARTNERS: partners });
      expect(stderr).toContain('PARTNERS[0].secret (partner orders) is a published placeholder');
      expect(stderr).not.toContain(placeholder);
      expect(stderr).not.toContain(secret);
    });
  });

  it('refuses to switch the UnionPay CN check off against UnionPay’s production host, even locally', () => {
    const result = boot({ UNIONPAY_REQUIRE_UNIONPAY_CN: 'false' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('UNIONPAY_REQUIRE_UNIONPAY_CN=false: refused while UNIONPAY_GATEWAY_URL');
  });
});
