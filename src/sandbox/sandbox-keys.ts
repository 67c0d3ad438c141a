import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Test keys for the sandbox and for the app's providers when they point at it: generated here, never
 * real ones. The merchant side (the app) gets the merchant private key and the sandbox's platform public
 * key; the sandbox gets the other halves. Files, so the two processes share nothing but the wire format.
 */
export interface WechatSandboxKeyFiles {
  mchid: string;
  appid: string;
  merchantSerialNo: string;
  platformKeyId: string;
  apiV3Key: string;
}

const FILES = {
  meta: 'wechat.json',
  merchantPrivate: 'wechat-merchant-private.pem',
  merchantPublic: 'wechat-merchant-public.pem',
  platformPrivate: 'wechat-platform-private.pem',
  platformPublic: 'wechat-platform-public.pem',
} as const;

export function ensureSandboxKeys(dir: string): WechatSandboxKeyFiles {
  const metaPath = join(dir, FILES.meta);
  if (existsSync(metaPath)) return JSON.parse(readFileSync(metaPath, 'utf8')) as WechatSandboxKeyFiles;
  mkdirSync(dir, { recursive: true });
  const pem = { type: 'pkcs8', format: 'pem' } as const;
  const spki = { type: 'spki', format: 'pem' } as const;
  const merchant = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: pem,
    publicKeyEncoding: spki,
  });
  const platform = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: pem,
    publicKeyEncoding: spki,
  });
  writeFileSync(join(dir, FILES.merchantPrivate), merchant.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, FILES.merchantPublic), merchant.publicKey);
  writeFileSync(join(dir, FILES.platformPrivate), platform.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, FILES.platformPublic), platform.publicKey);
  const meta: WechatSandboxKeyFiles = {
    mchid: '1900000109',
    appid: 'wxd678efh567hg6787',
    merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
    platformKeyId: `PUB_KEY_ID_${Date.now()}${randomBytes(4).readUInt32BE().toString().padStart(10, '0')}`,
    apiV3Key: randomBytes(16).toString('hex'), // 32 ASCII characters, as WeChat's APIv3 key
  };
  writeFileSync(metaPath, JSON.stringify(meta, null, 2));
  return meta;
}

export function loadKey(dir: string, file: keyof typeof FILES): KeyObject {
  const text = readFileSync(join(dir, FILES[file]), 'utf8');
  return file.endsWith('Private') ? createPrivateKey(text) : createPublicKey(text);
}
