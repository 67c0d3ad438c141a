import { generateKeyPairSync, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { alipaySandboxMeta, loadKey, readPem, unionpaySandboxMeta } from '../src/gateways/wire/sandbox-key-set';
import { certIdOf } from '../src/gateways/wire/unionpay.protocol';
import { ensureSandboxKeys } from './sandbox-keys';

export const SANDBOX_SETTINGS = Symbol('SANDBOX_SETTINGS');

export interface SandboxSettings {
  /** The key folder (SANDBOX_KEYS_DIR): the default merchants' key files, and merchants/ for those created on demand. */
  keysDir: string;
  /** Multiplies every vendor resend interval: 1 is real time, 0.001 turns 15 s into 15 ms. */
  timeScale: number;
  wechat: {
    mchid: string;
    appid: string;
    merchantSerialNo: string;
    merchantPublicKey: KeyObject;
    platformKeyId: string;
    platformPrivateKey: KeyObject;
    /** Signs "forged" notifications for the bad-signature fault. */
    strangerPrivateKey: KeyObject;
    /** An older platform certificate still in use during the vendor's key migration (made fresh per start). */
    legacyCertificateSerial: string;
    legacyCertificatePrivateKey: KeyObject;
    legacyCertificatePublicKey: KeyObject;
    apiV3Key: string;
  };
  alipay: {
    appId: string;
    /** seller_id in notifications: the Alipay user id the app collects for. */
    sellerId: string;
    appPublicKey: KeyObject;
    alipayPrivateKey: KeyObject;
    strangerPrivateKey: KeyObject;
  };
  unionpay: {
    merId: string;
    merchantCertId: string;
    merchantPublicKey: KeyObject;
    signPrivateKey: KeyObject;
    /** PEM sent as signPubKeyCert with every answer and notification. */
    signCertPem: string;
    /** A certificate not issued by the configured chain, for the bad-signature fault. */
    strangerCertPem: string;
    strangerPrivateKey: KeyObject;
  };
}

export function sandboxSettings(keysDir: string, timeScale: number): SandboxSettings {
  const meta = ensureSandboxKeys(keysDir);
  const legacy = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keysDir,
    timeScale,
    wechat: {
      mchid: meta.mchid,
      appid: meta.appid,
      merchantSerialNo: meta.merchantSerialNo,
      merchantPublicKey: loadKey(keysDir, 'merchantPublic'),
      platformKeyId: meta.platformKeyId,
      platformPrivateKey: loadKey(keysDir, 'platformPrivate'),
      strangerPrivateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      legacyCertificateSerial: randomBytes(20).toString('hex').toUpperCase(),
      legacyCertificatePrivateKey: legacy.privateKey,
      legacyCertificatePublicKey: legacy.publicKey,
      apiV3Key: meta.apiV3Key,
    },
    alipay: {
      appId: alipaySandboxMeta(keysDir).appId,
      sellerId: alipaySandboxMeta(keysDir).sellerId,
      appPublicKey: loadKey(keysDir, 'alipayAppPublic'),
      alipayPrivateKey: loadKey(keysDir, 'alipayPlatformPrivate'),
      strangerPrivateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    },
    unionpay: {
      merId: unionpaySandboxMeta(keysDir).merId,
      merchantCertId: certIdOf(new X509Certificate(readPem(keysDir, 'unionpayMerchantCert'))),
      merchantPublicKey: new X509Certificate(readPem(keysDir, 'unionpayMerchantCert')).publicKey,
      signPrivateKey: loadKey(keysDir, 'unionpaySignPrivate'),
      signCertPem: readPem(keysDir, 'unionpaySignCert'),
      // The merchant's own self-signed certificate: valid, but not issued by UnionPay's chain.
      strangerCertPem: readPem(keysDir, 'unionpayMerchantCert'),
      strangerPrivateKey: loadKey(keysDir, 'unionpayMerchantPrivate'),
    },
  };
}
