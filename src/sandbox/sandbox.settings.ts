import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { alipaySandboxMeta, ensureSandboxKeys, loadKey } from '../gateways/sandbox-credentials';

export const SANDBOX_SETTINGS = Symbol('SANDBOX_SETTINGS');

export interface SandboxSettings {
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
    apiV3Key: string;
  };
  alipay: {
    appId: string;
    appPublicKey: KeyObject;
    alipayPrivateKey: KeyObject;
    strangerPrivateKey: KeyObject;
  };
}

export function sandboxSettings(keysDir: string, timeScale: number): SandboxSettings {
  const meta = ensureSandboxKeys(keysDir);
  return {
    timeScale,
    wechat: {
      mchid: meta.mchid,
      appid: meta.appid,
      merchantSerialNo: meta.merchantSerialNo,
      merchantPublicKey: loadKey(keysDir, 'merchantPublic'),
      platformKeyId: meta.platformKeyId,
      platformPrivateKey: loadKey(keysDir, 'platformPrivate'),
      strangerPrivateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      apiV3Key: meta.apiV3Key,
    },
    alipay: {
      appId: alipaySandboxMeta(keysDir).appId,
      appPublicKey: loadKey(keysDir, 'alipayAppPublic'),
      alipayPrivateKey: loadKey(keysDir, 'alipayPlatformPrivate'),
      strangerPrivateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    },
  };
}
