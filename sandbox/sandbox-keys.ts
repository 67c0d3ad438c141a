import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type AlipaySandboxKeyFiles,
  isCurrentSandboxKeySet,
  SANDBOX_KEY_FILES as FILES,
  SANDBOX_KEYS_VERSION,
  type UnionpaySandboxKeyFiles,
  wechatSandboxMeta,
  type WechatSandboxKeyFiles,
} from '../src/gateways/wire/sandbox-key-set';

/**
 * Test keys for the sandbox and for the app's adapters when they point at it: generated here, never real
 * ones, in the layout of src/gateways/wire/sandbox-key-set.ts. The sandbox generates them at start, before it
 * listens; the app only reads them.
 */

/** Reads the sandbox credentials in `dir`, generating them first if there are none (or only an older set). */
export function ensureSandboxKeys(dir: string): WechatSandboxKeyFiles {
  if (!isCurrentSandboxKeySet(dir)) {
    // Generate into a fresh folder and rename it into place: several processes (a bench's app servers, two
    // sandboxes) may start together, and whichever renames first wins; the others use its keys.
    mkdirSync(dirname(dir), { recursive: true });
    const staging = mkdtempSync(`${dir}.tmp-`);
    generate(staging);
    try {
      // An older set (from before a channel was added, or before SANDBOX_KEYS_VERSION) is replaced whole.
      if (existsSync(dir) && !isCurrentSandboxKeySet(dir)) rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return wechatSandboxMeta(dir);
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
  writeFileSync(join(dir, FILES.version), `${SANDBOX_KEYS_VERSION}\n`);
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
