import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { renderEnvExample } from './env-example';
import { DEFAULTS, SETTING_KEYS, validateEnvironment } from './environment';
import { settingDoc } from './setting';

describe('.env.example', () => {
  const file = readFileSync(join(process.cwd(), '.env.example'), 'utf8');
  const documented = parseEnv(file);

  it('documents every setting the app reads, and nothing else', () => {
    expect(Object.keys(documented).sort()).toEqual([...SETTING_KEYS].sort());
  });

  it('shows the defaults the app really uses', () => {
    expect({ ...validateEnvironment(documented) }).toEqual({ ...validateEnvironment({}) });
  });

  it('is what the schema in environment.ts generates (`npm run config:docs` rewrites it)', () => {
    expect(file).toEqual(renderEnvExample());
  });
});

describe('the Environment schema', () => {
  it('gives no secret a default that could be used as one', () => {
    const secrets = SETTING_KEYS.filter((key) => settingDoc(key).secret === true);
    expect(secrets.sort()).toEqual([
      'ACCOUNT_KEKS',
      'ADMIN_TOKENS',
      'DB_PASSWORD',
      'METRICS_TOKEN',
      'PARTNERS',
      'WECHAT_APIV3_KEY',
      'WECHAT_APP_SECRET',
    ]);
    for (const key of secrets) expect([key, DEFAULTS[key]]).toEqual([key, expect.stringMatching(/^(\[\])?$/)]);
  });
});
