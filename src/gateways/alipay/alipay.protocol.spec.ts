import { generateKeyPairSync } from 'node:crypto';
import {
  alipaySignContent,
  beijingTimestamp,
  fenToYuan,
  fromBeijingTimestamp,
  rsa2Sign,
  rsa2Verify,
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
