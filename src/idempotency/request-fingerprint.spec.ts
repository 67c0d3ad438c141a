import { canonicalJson, isValidIdempotencyKey, sha256 } from './request-fingerprint';

describe('request fingerprint', () => {
  it('is the same for the same request whatever the key order', () => {
    const a = { buyerId: 'b', items: [{ sku: 'A', quantity: 1, unitPriceFen: 100 }] };
    const b = { items: [{ unitPriceFen: 100, quantity: 1, sku: 'A' }], buyerId: 'b' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('differs when a value or the order of array items differs', () => {
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });

  it('separates parts so that moving text between them changes the hash', () => {
    expect(sha256('ab', 'c')).not.toBe(sha256('a', 'bc'));
  });

  it('accepts 1-255 printable ASCII characters as an Idempotency-Key', () => {
    expect(isValidIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe(true);
    expect(isValidIdempotencyKey('')).toBe(false);
    expect(isValidIdempotencyKey('k'.repeat(256))).toBe(false);
    expect(isValidIdempotencyKey('has space')).toBe(false);
    expect(isValidIdempotencyKey('ключ')).toBe(false);
  });
});
