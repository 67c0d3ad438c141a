import { createHash, createSign, createVerify, type KeyObject, X509Certificate } from 'node:crypto';

/**
 * UnionPay online gateway 5.1.0 wire rules (acpsdk's Java sample is the reference), shared by our provider
 * and the sandbox. signMethod 01: every field but `signature`, sorted `k=v&` (empty values kept) → SHA-256
 * lowercase hex → SHA256withRSA over that hex string → base64.
 */
export const UNIONPAY_VERSION = '5.1.0';
/** The organisation UnionPay's own signing certificates are issued to (CN field 3 of `a@b@c@d`). */
export const UNIONPAY_CN_ORG = '中国银联股份有限公司';

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
 * The certificate a response or notification carries in `signPubKeyCert` must be in its validity period,
 * be issued by the configured middle certificate, which is issued by the root, and (in production) be
 * issued to UnionPay. Returns its public key, or the reason it is not trusted.
 */
export function trustedSigningKey(pem: string | undefined, anchors: TrustAnchors, now: Date): KeyObject | string {
  if (!pem) return 'no signPubKeyCert';
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return 'signPubKeyCert is not a certificate';
  }
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) return 'signPubKeyCert has expired';
  if (!certificate.checkIssued(anchors.middle) || !certificate.verify(anchors.middle.publicKey)) {
    return 'signPubKeyCert is not issued by the configured middle certificate';
  }
  if (!anchors.middle.checkIssued(anchors.root) || !anchors.middle.verify(anchors.root.publicKey)) {
    return 'the middle certificate is not issued by the configured root';
  }
  if (anchors.requireUnionPayCn) {
    const cn = /CN=([^\n]+)/.exec(certificate.subject)?.[1] ?? '';
    if (cn.split('@')[2] !== UNIONPAY_CN_ORG) return `signPubKeyCert is issued to ${cn}, not UnionPay`;
  }
  return certificate.publicKey;
}

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
