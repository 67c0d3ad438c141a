import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

export interface AlipaySandboxKeyFiles {
  appId: string;
}

const FILES = {
  version: 'version',
  meta: 'wechat.json',
  alipayMeta: 'alipay.json',
  alipayAppPrivate: 'alipay-app-private.pem',
  alipayAppPublic: 'alipay-app-public.pem',
  alipayPlatformPrivate: 'alipay-platform-private.pem',
  alipayPlatformPublic: 'alipay-platform-public.pem',
  unionpayMeta: 'unionpay.json',
  unionpayRootCert: 'unionpay-root-cert.pem',
  unionpayMiddleCert: 'unionpay-middle-cert.pem',
  unionpaySignPrivate: 'unionpay-sign-private.pem',
  unionpaySignCert: 'unionpay-sign-cert.pem',
  unionpayMerchantPrivate: 'unionpay-merchant-private.pem',
  unionpayMerchantCert: 'unionpay-merchant-cert.pem',
  merchantPrivate: 'wechat-merchant-private.pem',
  merchantPublic: 'wechat-merchant-public.pem',
  platformPrivate: 'wechat-platform-private.pem',
  platformPublic: 'wechat-platform-public.pem',
} as const;

/**
/**
 * Raised whenever a change makes older key sets unusable: 2 = the UnionPay signing certificate states
 * keyUsage digitalSignature, which the app now requires.
 */
const KEYS_VERSION = '2';

function isCurrent(dir: string): boolean {
  const version = join(dir, FILES.version);
  return existsSync(version) && readFileSync(version, 'utf8').trim() === KEYS_VERSION;
}

/**
 * Whether `dir` holds a set of sandbox test keys (both metadata files the generator writes):
 * a live deployment refuses key files from such a folder.
 */
export function isSandboxKeySet(dir: string): boolean {
  return existsSync(join(dir, FILES.meta)) && existsSync(join(dir, FILES.unionpayMeta));
}

/** Reads the sandbox credentials in `dir`, generating them first if there are none (or only an older set). */
export function ensureSandboxKeys(dir: string): WechatSandboxKeyFiles {
  const metaPath = join(dir, FILES.meta);
  if (!isSandboxKeySet(dir) || !isCurrent(dir)) {
    // Generate into a fresh folder and rename it into place: the app and the sandbox may start together,
    // and whichever renames first wins; the other uses its keys.
    mkdirSync(dirname(dir), { recursive: true });
    const staging = mkdtempSync(`${dir}.tmp-`);
    generate(staging);
    try {
      // An older set (from before a channel was added, or before KEYS_VERSION) is replaced whole.
      if (existsSync(dir) && !isCurrent(dir)) rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return JSON.parse(readFileSync(metaPath, 'utf8')) as WechatSandboxKeyFiles;
}

function generate(dir: string): void {
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
  writeFileSync(join(dir, FILES.meta), JSON.stringify(meta, null, 2));
  const app = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: pem, publicKeyEncoding: spki });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: pem, publicKeyEncoding: spki });
  writeFileSync(join(dir, FILES.alipayAppPrivate), app.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, FILES.alipayAppPublic), app.publicKey);
  writeFileSync(join(dir, FILES.alipayPlatformPrivate), alipay.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, FILES.alipayPlatformPublic), alipay.publicKey);
  const alipayMeta: AlipaySandboxKeyFiles = { appId: `2021${Date.now().toString().slice(-12)}` };
  writeFileSync(join(dir, FILES.alipayMeta), JSON.stringify(alipayMeta, null, 2));
  generateUnionpay(dir);
  writeFileSync(join(dir, FILES.version), `${KEYS_VERSION}\n`);
}

/**
 * UnionPay verifies with certificates, which node:crypto cannot issue: the openssl command line makes a
 * root, a middle CA, a signing certificate issued to "…@中国银联股份有限公司@…" the way UnionPay's are, and
 * the merchant's signing certificate.
 */
function generateUnionpay(dir: string): void {
  const path = (name: keyof typeof FILES) => join(dir, FILES[name]);
  const ca = join(dir, 'ca.ext');
  writeFileSync(ca, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  // UnionPay's signing certificates are for signatures only; the app requires digitalSignature.
  const signing = join(dir, 'sign.ext');
  writeFileSync(signing, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  const serial = () => `0x${randomBytes(8).toString('hex')}`;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const rootKey = join(dir, 'unionpay-root.key');
  const middleKey = join(dir, 'unionpay-middle.key');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    rootKey,
    '-out',
    path('unionpayRootCert'),
    '-days',
    '3650',
    '-subj',
    '/CN=Payment Center Sandbox Root CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    middleKey,
    '-out',
    join(dir, 'middle.csr'),
    '-subj',
    '/CN=Payment Center Sandbox Middle CA',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    join(dir, 'middle.csr'),
    '-CA',
    path('unionpayRootCert'),
    '-CAkey',
    rootKey,
    '-set_serial',
    serial(),
    '-days',
    '3650',
    '-extfile',
    ca,
    '-out',
    path('unionpayMiddleCert'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    path('unionpaySignPrivate'),
    '-out',
    join(dir, 'sign.csr'),
    '-utf8',
    '-subj',
    `/CN=041@Z12345678@中国银联股份有限公司@00010000`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    join(dir, 'sign.csr'),
    '-CA',
    path('unionpayMiddleCert'),
    '-CAkey',
    middleKey,
    '-set_serial',
    serial(),
    '-days',
    '825',
    '-extfile',
    signing,
    '-out',
    path('unionpaySignCert'),
  );
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    path('unionpayMerchantPrivate'),
    '-out',
    path('unionpayMerchantCert'),
    '-days',
    '825',
    '-subj',
    '/CN=Sandbox Merchant',
    '-set_serial',
    serial(),
  );
  for (const leftover of ['ca.ext', 'sign.ext', 'middle.csr', 'sign.csr', 'unionpay-root.key', 'unionpay-middle.key']) {
    rmSync(join(dir, leftover), { force: true });
  }
  const meta: UnionpaySandboxKeyFiles = { merId: `777290058${Date.now().toString().slice(-6)}` };
  writeFileSync(path('unionpayMeta'), JSON.stringify(meta, null, 2));
}

export interface UnionpaySandboxKeyFiles {
  merId: string;
}

export function unionpaySandboxMeta(dir: string): UnionpaySandboxKeyFiles {
  ensureSandboxKeys(dir);
  return JSON.parse(readFileSync(join(dir, FILES.unionpayMeta), 'utf8')) as UnionpaySandboxKeyFiles;
}

/** The sandbox's Alipay app, and the seller it collects for (derived: 2088 and the app id's last 12 digits). */
export function alipaySandboxMeta(dir: string): AlipaySandboxKeyFiles & { sellerId: string } {
  ensureSandboxKeys(dir);
  const meta = JSON.parse(readFileSync(join(dir, FILES.alipayMeta), 'utf8')) as AlipaySandboxKeyFiles;
  return { ...meta, sellerId: `2088${meta.appId.slice(-12)}` };
}

export function readPem(dir: string, file: keyof typeof FILES): string {
  return readFileSync(join(dir, FILES[file]), 'utf8');
}

export function loadKey(dir: string, file: keyof typeof FILES): KeyObject {
  const text = readFileSync(join(dir, FILES[file]), 'utf8');
  return file.endsWith('Private') ? createPrivateKey(text) : createPublicKey(text);
}
