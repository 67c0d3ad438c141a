import { signatureHeader, verifySignature } from './payment-event';

const OLD = { keyId: 'erp-1', secret: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' };
const NEW = { keyId: 'erp-2', secret: '0f9e8d7c6b5a49382716a5b4c3d2e1f0' };
const OTHER = { keyId: 'shop-1', secret: 'ffeeddccbbaa99887766554433221100' };
const body = Buffer.from('{"id":"e-1"}');
const now = 1_764_064_800;

describe('verifySignature', () => {
  it('accepts a message signed with any of the keys it is given (both keys of a rotation)', () => {
    expect(verifySignature(signatureHeader(now, body, [OLD]), body, [NEW, OLD], now)).toBe(true);
    expect(verifySignature(signatureHeader(now, body, [NEW]), body, [NEW, OLD], now)).toBe(true);
    expect(verifySignature(signatureHeader(now, body, [OTHER, NEW]), body, [OLD, NEW], now)).toBe(true);
  });

  it('refuses one signed with none of them, a forged one under a known key id, an old one, and none', () => {
    expect(verifySignature(signatureHeader(now, body, [OTHER]), body, [NEW, OLD], now)).toBe(false);
    const forged = signatureHeader(now, body, [{ keyId: OLD.keyId, secret: OTHER.secret }]);
    expect(verifySignature(forged, body, [NEW, OLD], now)).toBe(false);
    expect(verifySignature(signatureHeader(now - 25 * 3600, body, [OLD]), body, [OLD], now)).toBe(false);
    expect(verifySignature(signatureHeader(now, body, [OLD]), body, [], now)).toBe(false);
    expect(verifySignature(undefined, body, [OLD], now)).toBe(false);
  });
});
