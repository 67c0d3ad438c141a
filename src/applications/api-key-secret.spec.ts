import { hashSecret, keyIdOf, newKeyId, newSecret, parseScopes, secretMatches } from './api-key-secret';

describe('API key secrets', () => {
  it('carry their key id and match only their own hash', () => {
    const keyId = newKeyId();
    const secret = newSecret(keyId);
    expect(keyIdOf(secret)).toBe(keyId);
    expect(secretMatches(secret, hashSecret(secret))).toBe(true);
    expect(secretMatches(newSecret(keyId), hashSecret(secret))).toBe(false);
  });

  it('are refused when not shaped like ours', () => {
    const secret = newSecret(newKeyId());
    for (const wrong of ['', 'Bearer x', `${secret}x`, secret.slice(0, -1), secret.toUpperCase(), ` ${secret}`]) {
      expect(keyIdOf(wrong)).toBeUndefined();
    }
  });

  it('drop unknown scopes read back from a row', () => {
    expect(parseScopes('orders:read nonsense refunds:write')).toEqual(['orders:read', 'refunds:write']);
  });
});
