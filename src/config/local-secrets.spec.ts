import { parsePartners, validateEnvironment } from './environment';
import { provideLocalSecrets } from './local-secrets';

describe('provideLocalSecrets', () => {
  it('gives a local run without PARTNERS a random Orders key, and logs that without the key', () => {
    const sut: NodeJS.ProcessEnv = {};
    const lines = provideLocalSecrets(sut);
    const [orders] = parsePartners(sut.PARTNERS ?? '');
    expect(orders).toMatchObject({ name: 'orders', bindings: ['payment.#'], keyId: 'orders-local' });
    expect(orders.secret.length).toBeGreaterThanOrEqual(32);
    expect(validateEnvironment(sut).PARTNERS).toBe(sut.PARTNERS);
    expect(lines).toEqual([expect.stringContaining('PARTNERS is not set')]);
    expect(lines.join('\n')).not.toContain(orders.secret);
  });

  it('makes a new key for every run: none is published', () => {
    const first: NodeJS.ProcessEnv = {};
    const second: NodeJS.ProcessEnv = { PARTNERS: '' };
    provideLocalSecrets(first);
    provideLocalSecrets(second);
    expect(parsePartners(first.PARTNERS ?? '')[0].secret).not.toBe(parsePartners(second.PARTNERS ?? '')[0].secret);
  });

  it('names the partner after ORDERS_PARTNER', () => {
    const sut: NodeJS.ProcessEnv = { ORDERS_PARTNER: 'shop' };
    provideLocalSecrets(sut);
    expect(parsePartners(sut.PARTNERS ?? '')[0]).toMatchObject({ name: 'shop', keyId: 'shop-local' });
  });

  it('leaves PARTNERS that are set alone, and makes nothing in production', () => {
    const set: NodeJS.ProcessEnv = { PARTNERS: '[]' };
    const production: NodeJS.ProcessEnv = { NODE_ENV: 'production' };
    expect([provideLocalSecrets(set), provideLocalSecrets(production)]).toEqual([[], []]);
    expect(set).toEqual({ PARTNERS: '[]' });
    expect(production).toEqual({ NODE_ENV: 'production' });
  });
});
