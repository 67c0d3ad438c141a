import type { AlipayActor } from '../merchants/sandbox-merchants';
import { ALIPAY_AUTH_CODE_TTL_MS, AlipayOAuthCodes, sandboxAlipayUserId } from './alipay-oauth';

/**
 * The sandbox's auth_codes as Alipay treats them: one use, for the app the buyer authorised (or its ISV acting
 * with the merchant's token), gone after their lifetime; every other code is isv.code-invalid.
 */
const APP = '2021000000000001';
const MERCHANT_APP = '2021000000000777';
const actor = (authAppId: string) => ({ authAppId }) as AlipayActor;
const exchange = (sut: AlipayOAuthCodes, who: AlipayActor, code: string, now?: number) =>
  sut.exchange(who, { grant_type: 'authorization_code', code }, now);

describe('AlipayOAuthCodes (sandbox)', () => {
  it('a code is exchanged once, by its app, for the buyer’s user id', () => {
    const sut = new AlipayOAuthCodes();
    const code = sut.issue(APP, 'buyer-7');
    expect(exchange(sut, actor(MERCHANT_APP), code)).toMatchObject({ code: '40002', sub_code: 'isv.code-invalid' });
    expect(exchange(sut, actor(APP), code)).toMatchObject({ user_id: sandboxAlipayUserId('buyer-7') });
    expect(exchange(sut, actor(APP), code)).toMatchObject({ sub_code: 'isv.code-invalid' });
  });

  it('a code past its lifetime is refused; a merchant’s code is exchanged by its ISV (auth_app_id)', () => {
    const sut = new AlipayOAuthCodes();
    const now = Date.now();
    const late = sut.issue(APP, 'buyer-1', now);
    expect(exchange(sut, actor(APP), late, now + ALIPAY_AUTH_CODE_TTL_MS + 1)).toMatchObject({
      sub_code: 'isv.code-invalid',
    });
    const merchants = sut.issue(MERCHANT_APP, 'buyer-1', now);
    expect(exchange(sut, actor(MERCHANT_APP), merchants, now + 1000)).toMatchObject({
      user_id: sandboxAlipayUserId('buyer-1'),
    });
  });

  it('refuses another grant_type and a missing code', () => {
    const sut = new AlipayOAuthCodes();
    const code = sut.issue(APP, 'buyer-1');
    expect(sut.exchange(actor(APP), { grant_type: 'refresh_token', code })).toMatchObject({
      sub_code: 'isv.grant-type-invalid',
    });
    expect(sut.exchange(actor(APP), { grant_type: 'authorization_code' })).toMatchObject({
      sub_code: 'isv.code-invalid',
    });
  });

  it('user ids are 2088 and 12 digits, one per buyer, the same in every app', () => {
    const ids = new Set(['buyer-1', 'buyer-2', 'buyer-3'].map(sandboxAlipayUserId));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^2088\d{12}$/);
    expect(sandboxAlipayUserId('buyer-1')).toBe(sandboxAlipayUserId('buyer-1'));
  });
});
