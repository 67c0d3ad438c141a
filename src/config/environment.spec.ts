import { InvalidEnvironment, parseDurationList, parseTrustProxy, validateEnvironment } from './environment';

describe('validateEnvironment', () => {
  it('gives working defaults for a local run when nothing is set', () => {
    const env = validateEnvironment({});
    expect(env).toMatchObject({
      PORT: 3000,
      DB_HOST: '127.0.0.1',
      DB_NAME: 'payment_center',
      DB_MIGRATE_ON_START: true,
    });
    expect(env.ORDER_EXPIRES_IN_SECONDS).toBe(1800);
  });

  it('converts numbers and booleans from their string form', () => {
    const env = validateEnvironment({ PORT: '8080', DB_MIGRATE_ON_START: 'false', GATEWAY_TIMEOUT_MS: '2500' });
    expect(env).toMatchObject({ PORT: 8080, DB_MIGRATE_ON_START: false, GATEWAY_TIMEOUT_MS: 2500 });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DB_PORT', '3306.5'],
    ['DB_NAME', 'pay-center; DROP'],
    ['DB_MIGRATE_ON_START', 'yes'],
    ['REDIS_URL', 'localhost:6379'],
    ['RABBITMQ_URL', 'http://127.0.0.1'],
    ['ORDER_MAX_AMOUNT_FEN', '0'],
    ['ORDER_MAX_AMOUNT_FEN', '3000000000'],
    ['PAYMENT_QUERY_SCHEDULE', '30,10'],
    ['LOG_LEVEL', 'chatty'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', 'loopback, proxy.internal'],
  ])('refuses %s=%s and names the key', (key, value) => {
    expect(() => validateEnvironment({ [key]: value })).toThrow(InvalidEnvironment);
    expect(() => validateEnvironment({ [key]: value })).toThrow(new RegExp(`${key}=`));
  });

  it('reports every bad key at once', () => {
    try {
      validateEnvironment({ PORT: 'x', DB_PORT: 'y' });
      throw new Error('expected a failure');
    } catch (error) {
      expect((error as InvalidEnvironment).problems.map((p) => p.split('=')[0])).toEqual(['PORT', 'DB_PORT']);
    }
  });

  it('treats an empty value as unset, except for the database password', () => {
    expect(validateEnvironment({ PORT: '', DB_PASSWORD: '' })).toMatchObject({ PORT: 3000, DB_PASSWORD: '' });
  });
});

describe('parseDurationList', () => {
  it('reads the query schedule in milliseconds', () => {
    expect(parseDurationList('30s,10s,20s,30s')).toEqual([30_000, 10_000, 20_000, 30_000]);
    expect(parseDurationList('500ms, 1m, 2h')).toEqual([500, 60_000, 7_200_000]);
  });
});

describe('parseTrustProxy', () => {
  it("reads Express's 'trust proxy': none, a hop count, or addresses, ranges and names", () => {
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('loopback, 10.0.0.0/8,fd00::/8, 192.168.1.7')).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.1.7',
    ]);
  });

  it('refuses true (anyone could then claim any address and HTTPS) naming the entry', () => {
    expect(() => parseTrustProxy('true')).toThrow(/"true" is not an address/);
  });
});
