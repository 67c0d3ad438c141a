import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
});
