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
