import { createSign, generateKeyPairSync } from 'node:crypto';
import {
  alipayPublicKeyOf,
  alipaySignContent,
  beijingTimestamp,
  fenToYuan,
  fromBeijingTimestamp,
  rsa2Sign,
  rsa2Verify,
  verifyNotificationSign,
  yuanToFen,
} from './alipay.protocol';

describe('Alipay wire rules', () => {
  it('signs the sorted parameters without sign, dropping empty values', () => {
    expect(alipaySignContent({ b: '2', a: '1', sign: 'x', empty: '' })).toBe('a=1&b=2');
    expect(alipaySignContent({ sign_type: 'RSA2', a: '1' }, ['sign', 'sign_type'])).toBe('a=1');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = rsa2Sign('a=1&b=2', privateKey);
    expect(rsa2Verify('a=1&b=2', signature, publicKey)).toBe(true);
    expect(rsa2Verify('a=1&b=3', signature, publicKey)).toBe(false);
  });

  describe('notification signatures: RSA2 only, over the documented content', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const params = {
      app_id: '2021000000000001',
      out_trade_no: 'P1',
      subject: '龙井 100% & co',
      total_amount: '25.00',
      trade_status: 'TRADE_SUCCESS',
    };
    // Alipay's own documented content for these: sign and sign_type out, sorted, decoded values.
    const content =
      'app_id=2021000000000001&out_trade_no=P1&subject=龙井 100% & co&total_amount=25.00&trade_status=TRADE_SUCCESS';
    const sha256 = (text: string) => createSign('RSA-SHA256').update(text).sign(privateKey, 'base64');
    const sha1 = (text: string) => createSign('RSA-SHA1').update(text).sign(privateKey, 'base64');

    it('accepts RSA-SHA256 over every parameter but sign and sign_type, with sign_type RSA2 or absent', () => {
      expect(alipaySignContent(params)).toBe(content);
      expect(verifyNotificationSign({ ...params, sign_type: 'RSA2', sign: sha256(content) }, publicKey)).toBe('ok');
      expect(verifyNotificationSign({ ...params, sign: sha256(content) }, publicKey)).toBe('ok');
    });

    it('refuses sign_type RSA even with a valid SHA-1 signature (the sender must not pick the hash)', () => {
      expect(verifyNotificationSign({ ...params, sign_type: 'RSA', sign: sha1(content) }, publicKey)).toBe('sign_type');
    });

    it.each(['MD5', 'rsa2', 'SM2', 'constructor', 'RSA2 '])('refuses sign_type %j without throwing', (signType) => {
      expect(verifyNotificationSign({ ...params, sign_type: signType, sign: sha256(content) }, publicKey)).toBe(
        'sign_type',
      );
    });

    it('refuses a signature over other content: a changed value, sign_type signed along, or no sign', () => {
      expect(verifyNotificationSign({ ...params, total_amount: '0.01', sign: sha256(content) }, publicKey)).toBe(
        'signature',
      );
      const withSignType = alipaySignContent({ ...params, sign_type: 'RSA2' }, ['sign']);
      expect(verifyNotificationSign({ ...params, sign_type: 'RSA2', sign: sha256(withSignType) }, publicKey)).toBe(
        'signature',
      );
      expect(verifyNotificationSign(params, publicKey)).toBe('signature');
      expect(verifyNotificationSign({ ...params, sign: 'not base64 at all' }, publicKey)).toBe('signature');
    });

    it('reads the public key as a PEM or as the bare base64 the Alipay console shows', () => {
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const bare = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
      expect(alipayPublicKeyOf(pem).equals(publicKey)).toBe(true);
      expect(alipayPublicKeyOf(bare).equals(publicKey)).toBe(true);
    });
  });

  it('converts fen and yuan strings exactly, never through floating point', () => {
    expect(fenToYuan(1)).toBe('0.01');
    expect(fenToYuan(2500)).toBe('25.00');
    expect(fenToYuan(1999)).toBe('19.99');
    expect(yuanToFen('19.99')).toBe(1999);
    expect(yuanToFen('0.1')).toBe(10);
    expect(yuanToFen('25')).toBe(2500);
    expect(yuanToFen('1.005')).toBeUndefined();
    expect(yuanToFen('-1.00')).toBeUndefined();
    expect(() => fenToYuan(0)).toThrow(RangeError);
  });

  it('writes and reads Beijing time', () => {
    const at = new Date('2026-11-25T02:03:04Z');
    expect(beijingTimestamp(at)).toBe('2026-11-25 10:03:04');
    expect(fromBeijingTimestamp('2026-11-25 10:03:04')?.toISOString()).toBe('2026-11-25T02:03:04.000Z');
  });
});
