import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Fresh test credentials for merchants created on demand: ids in the vendors' shapes and key pairs. Test
 * material only, never real; the merchant side gets its halves in POST /sandbox/merchants' answer.
 */

const run = promisify(execFile);

export interface PemKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** RSA-2048, PKCS#8 / SPKI PEM: the key size all three vendors use. Asynchronous, so the sandbox keeps answering. */
export function rsaKeyPair(): Promise<PemKeyPair> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      },
      (error, publicKeyPem, privateKeyPem) => (error ? reject(error) : resolve({ privateKeyPem, publicKeyPem })),
    ),
  );
}

/** `count` decimal digits, the first not 0. */
export function digits(count: number): string {
  let text = String(randomInt(1, 10));
  while (text.length < count) text += String(randomInt(0, 10));
  return text;
}

export const newIds = {
  /** WeChat Pay merchant numbers are 10 digits (1900000109 in the vendor's examples). */
  wechatMchid: () => `1${digits(9)}`,
  /** An official-account / mini-program AppID: `wx` and 16 hex characters. */
  wechatAppid: () => `wx${randomBytes(8).toString('hex')}`,
  /** A merchant API certificate serial: 40 upper-case hex characters. */
  wechatSerialNo: () => randomBytes(20).toString('hex').toUpperCase(),
  /** A WeChat Pay public key id, as the merchant console shows it. */
  wechatPublicKeyId: () => `PUB_KEY_ID_${Date.now()}${randomBytes(4).readUInt32BE().toString().padStart(10, '0')}`,
  /** The APIv3 key is 32 ASCII characters (the AES-256 key itself). */
  wechatApiV3Key: () => randomBytes(16).toString('hex'),
  /** Alipay app ids are 16 digits (2021… for apps created since 2021). */
  alipayAppId: () => `2021${digits(12)}`,
  /** Alipay user ids (seller_id, pid) are 16 digits starting 2088. */
  alipayUserId: () => `2088${digits(12)}`,
  /** An app_auth_token as alipay.open.auth.token.app returns it: month, `BB`, 32 hex (40 characters). */
  alipayAppAuthToken: () =>
    `${new Date().toISOString().slice(0, 7).replace('-', '')}BB${randomBytes(16).toString('hex')}`,
  /** UnionPay merchant numbers are 15 digits (777290058… in UnionPay's test environment). */
  unionpayMerId: () => `777290058${digits(6)}`,
};

/**
 * A merchant signing certificate for UnionPay, self-signed like the default merchant's (UnionPay checks a
 * merchant's signature against the certificate registered for its certId, not a chain). node:crypto cannot
 * issue certificates, so the openssl command line makes it.
 */
export async function unionpayMerchantCertificate(merId: string): Promise<{ privateKeyPem: string; certPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pc-sandbox-merchant-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '825',
        '-subj',
        `/CN=Sandbox Merchant ${merId}`,
        '-set_serial',
        `0x${randomBytes(8).toString('hex')}`,
      ],
      { encoding: 'utf8' },
    );
    return { privateKeyPem: await readFile(key, 'utf8'), certPem: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
