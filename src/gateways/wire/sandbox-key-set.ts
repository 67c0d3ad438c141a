import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder of test keys that the gateway sandbox generates (sandbox/sandbox-keys.ts) and the app reads in
 * GATEWAY_MODE=sandbox: its file names, their metadata and the version stamp. The merchant side (the app)
 * reads the merchant private keys and the sandbox's platform public keys; the sandbox reads the other halves.
 * Files, so the two processes share nothing but this layout and the vendors' wire formats.
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

export interface UnionpaySandboxKeyFiles {
  merId: string;
}

export const SANDBOX_KEY_FILES = {
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

export type SandboxKeyFile = keyof typeof SANDBOX_KEY_FILES;

/**
 * Raised whenever a change makes older key sets unusable: 2 = the UnionPay signing certificate states
 * keyUsage digitalSignature, which the app now requires.
 */
export const SANDBOX_KEYS_VERSION = '2';

/**
 * Whether `dir` holds a set of sandbox test keys (both metadata files the generator writes):
 * a live deployment refuses key files from such a folder.
 */
export function isSandboxKeySet(dir: string): boolean {
  return existsSync(join(dir, SANDBOX_KEY_FILES.meta)) && existsSync(join(dir, SANDBOX_KEY_FILES.unionpayMeta));
}

/** A key set of this version: an older one lacks what the app now checks, and the sandbox replaces it at start. */
export function isCurrentSandboxKeySet(dir: string): boolean {
  const version = join(dir, SANDBOX_KEY_FILES.version);
  return isSandboxKeySet(dir) && existsSync(version) && readFileSync(version, 'utf8').trim() === SANDBOX_KEYS_VERSION;
}

export function wechatSandboxMeta(dir: string): WechatSandboxKeyFiles {
  return JSON.parse(readFileSync(join(dir, SANDBOX_KEY_FILES.meta), 'utf8')) as WechatSandboxKeyFiles;
}

export function unionpaySandboxMeta(dir: string): UnionpaySandboxKeyFiles {
  return JSON.parse(readFileSync(join(dir, SANDBOX_KEY_FILES.unionpayMeta), 'utf8')) as UnionpaySandboxKeyFiles;
}

/** The sandbox's Alipay app, and the seller it collects for (derived: 2088 and the app id's last 12 digits). */
export function alipaySandboxMeta(dir: string): AlipaySandboxKeyFiles & { sellerId: string } {
  const meta = JSON.parse(readFileSync(join(dir, SANDBOX_KEY_FILES.alipayMeta), 'utf8')) as AlipaySandboxKeyFiles;
  return { ...meta, sellerId: `2088${meta.appId.slice(-12)}` };
}

export function readPem(dir: string, file: SandboxKeyFile): string {
  return readFileSync(join(dir, SANDBOX_KEY_FILES[file]), 'utf8');
}

export function loadKey(dir: string, file: SandboxKeyFile): KeyObject {
  const text = readPem(dir, file);
  return file.endsWith('Private') ? createPrivateKey(text) : createPublicKey(text);
}

/**
 * The AppSecret of the sandbox merchant's official account (WeChat OAuth's code exchange checks it), derived from
 * its app id so that the sandbox and the app agree without sharing a file.
 */
export function wechatAppSecretOf(appid: string): string {
  return createHash('sha256').update(`app-secret:${appid}`).digest('hex').slice(0, 32);
}

/**
 * The sandbox merchant's mini-program: WeChat binds mini-programs to a merchant, each with an app id of its own;
 * the sandbox gives each merchant one, derived from its official account's app id (the app side configures it as
 * the sandbox account's WECHAT_MINI_PROGRAM_APP_IDS).
 */
export function miniProgramAppIdOf(appid: string): string {
  return `wx${createHash('sha256').update(`mini-program:${appid}`).digest('hex').slice(0, 16)}`;
}

/**
 * The sandbox merchant's mobile app (WeChat Open Platform 移动应用), bound to the merchant like a mini-program and
 * with an app id of its own: derived from its official account's app id, like `miniProgramAppIdOf` (the app side
 * configures it as the sandbox account's WECHAT_MOBILE_APP_IDS).
 */
export function mobileAppIdOf(appid: string): string {
  return `wx${createHash('sha256').update(`mobile-app:${appid}`).digest('hex').slice(0, 16)}`;
}

/**
 * The sandbox Alipay app's mini-program: a mini-program is an Alipay app of its own (16 digits) bound to the merchant;
 * the sandbox gives each app one, derived from its app id (the app side configures it as the sandbox account's
 * ALIPAY_MINI_PROGRAM_APP_IDS).
 */
export function alipayMiniProgramAppIdOf(appId: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`alipay-mini-program:${appId}`).digest('hex').slice(0, 15)}`);
  return `2021${(digits % 10n ** 12n).toString().padStart(12, '0')}`;
}
