import type { X509Certificate } from 'node:crypto';

/**
 * The two certificate fields UnionPay's signing-certificate check needs that node:crypto does not give in a
 * usable form: the subject's CN attributes (its `subject` is a printed string, where `OU=CN=…` also contains
 * `CN=`) and the keyUsage extension (its `keyUsage` is the *extended* key usage).
 */

/** The subject's CN attributes, from the parsed name: one string per attribute, in order. */
export function subjectCommonNames(certificate: X509Certificate): string[] {
  // toLegacyObject() builds the subject from OpenSSL's parsed entries: a repeated attribute becomes an array.
  const subject = certificate.toLegacyObject().subject as Record<string, string | string[] | undefined> | undefined;
  const cn = subject?.CN;
  if (cn === undefined) return [];
  return Array.isArray(cn) ? cn : [cn];
}

/** keyUsage bit names, in bit order (RFC 5280 4.2.1.3). */
export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

const KEY_USAGE_OID = Buffer.from([0x55, 0x1d, 0x0f]); // 2.5.29.15

/**
 * The certificate's keyUsage bits, or undefined when it has no keyUsage extension. Throws on a certificate
 * whose DER does not read as RFC 5280 says (OpenSSL parsed it, so that is a bug or a forgery either way).
 */
export function keyUsageOf(certificate: X509Certificate): KeyUsage[] | undefined {
  const der = certificate.raw;
  const cert = ofTag(readTlv(der, 0, der.length), SEQUENCE);
  const tbs = ofTag(childrenOf(der, cert)[0], SEQUENCE);
  const extensionsField = childrenOf(der, tbs).find((field) => field.tag === EXTENSIONS_TAG);
  if (!extensionsField) return undefined;
  const extensions = ofTag(childrenOf(der, extensionsField)[0], SEQUENCE);
  let found: KeyUsage[] | undefined;
  for (const extension of childrenOf(der, extensions)) {
    const [oid, ...rest] = childrenOf(der, ofTag(extension, SEQUENCE));
    if (!der.subarray(ofTag(oid, OID).start, oid.end).equals(KEY_USAGE_OID)) continue;
    if (found) throw new Error('two keyUsage extensions'); // RFC 5280 4.2: at most one of each
    const value = ofTag(rest[rest.length - 1], OCTET_STRING);
    const bits = ofTag(readTlv(der, value.start, value.end), BIT_STRING);
    if (bits.end !== value.end || bits.end - bits.start < 1) throw new Error('malformed keyUsage');
    const bytes = der.subarray(bits.start + 1, bits.end);
    found = KEY_USAGES.filter((_, bit) => ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
  }
  return found;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const EXTENSIONS_TAG = 0xa3; // [3] EXPLICIT in TBSCertificate

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** One DER tag-length-value at `at`, within `limit`; definite lengths only, as DER requires. */
function readTlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = der[at];
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tag');
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || start + octets > limit) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i];
    start += octets;
  }
  if (start + length > limit) throw new Error('DER value runs past its parent');
  return { tag, start, end: start + length };
}

function childrenOf(der: Buffer, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = readTlv(der, at, parent.end);
    children.push(child);
    at = child.end;
  }
  return children;
}

function ofTag(tlv: Tlv | undefined, tag: number): Tlv {
  if (tlv?.tag !== tag) throw new Error(`expected DER tag ${tag.toString(16)}`);
  return tlv;
}
