import { createHash, createSign, createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import { type KeyUsage, keyUsageOf, subjectCommonNames } from './x509-fields';

/**
 * UnionPay online gateway 5.1.0 wire rules (acpsdk's Java sample is the reference), shared by our provider
 * and the sandbox. signMethod 01: every field but `signature`, sorted `k=v&` (empty values kept) → SHA-256
 * lowercase hex → SHA256withRSA over that hex string → base64.
 */
export const UNIONPAY_VERSION = '5.1.0';

export function signContent(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

function digestHex(fields: Record<string, string>): string {
  return createHash('sha256').update(signContent(fields), 'utf8').digest('hex');
}

export function signFields(fields: Record<string, string>, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(digestHex(fields), 'utf8').sign(privateKey, 'base64');
}

export function verifyFields(fields: Record<string, string>, publicKey: KeyObject): boolean {
  if (!fields.signature) return false;
  try {
    return createVerify('RSA-SHA256').update(digestHex(fields), 'utf8').verify(publicKey, fields.signature, 'base64');
  } catch {
    return false;
  }
}

/** `certId` is the signing certificate's serial number in decimal (Node reports it in hex). */
export function certIdOf(certificate: X509Certificate): string {
  return BigInt(`0x${certificate.serialNumber}`).toString(10);
}

export interface TrustAnchors {
  root: X509Certificate;
  middle: X509Certificate;
  /** Test environments issue certificates to other names; production keeps this on. */
  requireUnionPayCn: boolean;
}

/**
 * The CN of UnionPay's own signing certificates, `a@b@中国银联股份有限公司@d` (acpsdk splits it on `@` and
 * checks field 3); anchored, so a name that merely contains it does not pass.
 */
export const UNIONPAY_CN_PATTERN = /^[^@]+@[^@]+@中国银联股份有限公司@[^@]+$/;

/**
 * The certificate a response or notification carries in `signPubKeyCert` must be in its validity period,
 * be issued by the configured middle certificate, which is issued by the root (both in their own validity
 * periods), be meant for signatures (keyUsage digitalSignature), and (in production) be issued to UnionPay:
 * exactly one CN attribute in its subject, of UnionPay's form. Returns its public key, or why it is not trusted.
 */
export function trustedSigningKey(pem: string | undefined, anchors: TrustAnchors, now: Date): KeyObject | string {
  if (!pem) return 'no signPubKeyCert';
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return 'signPubKeyCert is not a certificate';
  }
  if (!within(certificate, now)) return 'signPubKeyCert has expired or is not valid yet';
  for (const [name, anchor] of [
    ['middle', anchors.middle],
    ['root', anchors.root],
  ] as const) {
    if (!within(anchor, now)) return `the configured ${name} certificate has expired or is not valid yet`;
  }
  if (!certificate.checkIssued(anchors.middle) || !certificate.verify(anchors.middle.publicKey)) {
    return 'signPubKeyCert is not issued by the configured middle certificate';
  }
  if (!anchors.middle.checkIssued(anchors.root) || !anchors.middle.verify(anchors.root.publicKey)) {
    return 'the middle certificate is not issued by the configured root';
  }
  let usage: KeyUsage[] | undefined;
  try {
    usage = keyUsageOf(certificate);
  } catch {
    return 'signPubKeyCert has an unreadable keyUsage extension';
  }
  // Required, not just "not forbidden": UnionPay's signing certificates state it, a look-alike may not.
  if (!usage?.includes('digitalSignature')) return 'signPubKeyCert is not a signing certificate (keyUsage)';
  if (anchors.requireUnionPayCn) {
    const names = subjectCommonNames(certificate);
    if (names.length !== 1) return `signPubKeyCert has ${names.length} CN attributes, not one`;
    if (!UNIONPAY_CN_PATTERN.test(names[0])) {
      return `signPubKeyCert is issued to ${JSON.stringify(names[0].slice(0, 80))}, not UnionPay`;
    }
  }
  return certificate.publicKey;
}

function within(certificate: X509Certificate, now: Date): boolean {
  return now >= new Date(certificate.validFrom) && now <= new Date(certificate.validTo);
}

/** How long before a configured root or middle certificate expires the app warns at boot. */
export const ANCHOR_EXPIRY_WARNING_DAYS = 30;

export interface AnchorDate {
  anchor: 'root' | 'middle';
  /** `expired` and `not_yet_valid` stop the boot: no notification could be verified. */
  state: 'expired' | 'not_yet_valid' | 'expires_soon';
  at: Date;
}

/** The configured root and middle certificates that are out of their validity period, or soon will be. */
export function anchorDates(anchors: Pick<TrustAnchors, 'root' | 'middle'>, now: Date): AnchorDate[] {
  const soon = new Date(now.getTime() + ANCHOR_EXPIRY_WARNING_DAYS * 24 * 3600 * 1000);
  const dates: AnchorDate[] = [];
  for (const anchor of ['root', 'middle'] as const) {
    const validFrom = new Date(anchors[anchor].validFrom);
    const validTo = new Date(anchors[anchor].validTo);
    if (now > validTo) dates.push({ anchor, state: 'expired', at: validTo });
    else if (now < validFrom) dates.push({ anchor, state: 'not_yet_valid', at: validFrom });
    else if (soon > validTo) dates.push({ anchor, state: 'expires_soon', at: validTo });
  }
  return dates;
}

/**
 * Answers (respCode of a consume, origRespCode of a queried one) after which UnionPay took nothing and will take
 * nothing for that order: the request itself was refused (10 format, 11 signature, 13 missing fields), or the payer
 * or the code was (30 declined, 31–33 merchant or amount limits, 38 risk, 39 outside hours, 60–67 the payer's
 * card or account, 88 no such QR code). From the platform's response-code appendix (平台接入接口规范 第5部分) as the
 * acpsdk samples cite it; 88 "无此二维码" as implementers report it for a consume with an unknown code. Everything
 * else (01 failed, 02/06 unavailable or busy, 12 duplicate, 37 too frequent, 99) is not taken as definite.
 */
export const UNIONPAY_DEFINITE_REFUSALS: ReadonlySet<string> = new Set(
  '10 11 13 30 31 32 33 38 39 60 61 62 63 64 65 66 67 88'.split(' '),
);

/** A consume answer or query asking to be asked again: 03 timeout, 04 state unknown, 05 accepted, query later. */
export const UNIONPAY_IN_PROGRESS: ReadonlySet<string> = new Set(['03', '04', '05']);

/** UnionPay's `txnTime`: Beijing time yyyyMMddHHmmss. */
export function unionpayTime(at: Date): string {
  return new Date(at.getTime() + 8 * 3600 * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function parseForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body).entries());
}

/**
 * The reconciliation file's detail lines (the `ZM_` file, 5.1.0 file interface): fixed-width fields, one
 * separator byte between them, GBK. Widths from UnionPay's own sample parser (DemoBase.parseZMFile).
 */
export const ZM_FIELD_WIDTHS = [
  3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13,
  8, 32, 13, 13, 12, 2, 1, 32, 98,
] as const;

/** The fields we read, by their index in ZM_FIELD_WIDTHS. */
export const ZM = {
  transactionCode: 0,
  transmittedAt: 4,
  amountFen: 6,
  queryId: 9,
  orderId: 11,
  txnType: 19,
  txnSubType: 20,
  bizType: 21,
  origQueryId: 26,
  merId: 27,
} as const;

/** Splits one detail line (its bytes) into trimmed field values. */
export function parseZmLine(line: Uint8Array): string[] {
  const gbk = new TextDecoder('gbk');
  const values: string[] = [];
  let at = 0;
  for (const width of ZM_FIELD_WIDTHS) {
    values.push(gbk.decode(line.subarray(at, at + width)).trim());
    at += width + 1;
  }
  return values;
}

/** One detail line from values by field index (ASCII values; the sandbox writes files with it). */
export function formatZmLine(values: Partial<Record<number, string>>): string {
  return ZM_FIELD_WIDTHS.map((width, i) => {
    const value = values[i] ?? '';
    return /^\d+$/.test(value) && i === ZM.amountFen ? value.padStart(width, '0') : value.padEnd(width, ' ');
  }).join(' ');
}
