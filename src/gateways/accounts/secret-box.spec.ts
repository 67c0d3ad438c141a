import { randomBytes } from 'node:crypto';
import { parseKeks, SecretBox, SecretUnavailable } from './secret-box';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  const k1 = key();
  const k2 = key();
  const box1 = new SecretBox(parseKeks(`k1:${k1}`, ''));
  const both = new SecretBox(parseKeks(`k1:${k1},k2:${k2}`, 'k2'));

  it('opens what it sealed, names its KEK, and never repeats a ciphertext', () => {
    const sealed = box1.seal('-----BEGIN PRIVATE KEY-----', 'wx-a/merchantPrivateKeyPem');
    expect(SecretBox.kekIdOf(sealed)).toBe('k1');
    expect(sealed).not.toContain('PRIVATE');
    expect(box1.seal('same', 'a')).not.toBe(box1.seal('same', 'a'));
    expect(box1.open(sealed, 'wx-a/merchantPrivateKeyPem')).toBe('-----BEGIN PRIVATE KEY-----');
  });

  it('refuses a value moved to another account or field', () => {
    const sealed = box1.seal('secret', 'wx-a/apiV3Key');
    expect(() => box1.open(sealed, 'wx-b/apiV3Key')).toThrow(SecretUnavailable);
    expect(() => box1.open(sealed, 'wx-a/merchantPrivateKeyPem')).toThrow(SecretUnavailable);
  });

  it('refuses a tampered value and a wrong key under the same id', () => {
    const sealed = box1.seal('secret', 'a');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[4], 'base64url');
    body[0] ^= 1;
    parts[4] = body.toString('base64url');
    expect(() => box1.open(parts.join('.'), 'a')).toThrow(/does not decrypt with KEK k1/);
    const impostor = new SecretBox(parseKeks(`k1:${key()}`, ''));
    expect(() => impostor.open(sealed, 'a')).toThrow(/does not decrypt with KEK k1/);
  });

  it('rotates: the new KEK seals, the old one still opens, a retired one is named', () => {
    const old = box1.seal('secret', 'a');
    const fresh = both.seal('secret', 'a');
    expect(SecretBox.kekIdOf(fresh)).toBe('k2');
    expect(both.open(old, 'a')).toBe('secret');
    const retired = new SecretBox(parseKeks(`k2:${k2}`, ''));
    expect(() => retired.open(old, 'a')).toThrow(/sealed with KEK k1, which ACCOUNT_KEKS does not hold/);
  });

  it('without KEKs refuses to seal or open, saying what to set', () => {
    const none = new SecretBox(parseKeks('', ''));
    expect(none.configured).toBe(false);
    expect(() => none.seal('x', 'a')).toThrow(/ACCOUNT_KEKS is not set/);
  });

  it('parses only well-formed key lists', () => {
    expect(() => parseKeks('k1:short', '')).toThrow(/32 bytes/);
    expect(() => parseKeks(`k1:${k1},k2:${k2}`, '')).toThrow(/ACCOUNT_KEK_ID must name/);
    expect(() => parseKeks(`k1:${k1}`, 'k9')).toThrow(/k9 is not one of its ids/);
    expect(() => parseKeks(`k1:${k1},k1:${k2}`, 'k1')).toThrow(/twice/);
    expect(() => parseKeks(`bad id:${k1}`, '')).toThrow(/<id>:<base64 key>/);
    expect(() => parseKeks('', 'k1')).toThrow(/ACCOUNT_KEKS is empty/);
  });
});
