import { Logger } from '@nestjs/common';
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AppConfig } from '../config/app-config';
import { InvalidEnvironment } from '../config/environment';
import type { PaymentGateway } from './payment-gateway';
import { DEFAULT_ACCOUNT, notifyUrlOf } from './accounts/account-gateway';
import type { Channel } from './gateway.types';
import { AlipayGateway, type AlipaySettings } from './alipay/alipay.gateway';
import {
  alipayMiniProgramAppIdOf,
  alipaySandboxMeta,
  isCurrentSandboxKeySet,
  loadKey,
  miniProgramAppIdOf,
  mobileAppIdOf,
  readPem,
  unionpaySandboxMeta,
  wechatSandboxMeta,
} from './wire/sandbox-key-set';
import { UnionPayGateway, type UnionPaySettings } from './unionpay/unionpay.gateway';
import { anchorDates, certIdOf, type TrustAnchors } from './wire/unionpay.protocol';
import { WechatPayGateway, type WechatPaySettings } from './wechat/wechat-pay.gateway';

/**
 * The configured channel adapters. GATEWAY_MODE=sandbox (the default) points each one at the gateway
 * sandbox with its generated test keys; GATEWAY_MODE=live at the vendor with the merchant's own keys. The
 * same adapter code runs in both: switching is configuration alone.
 */
export function createGateways(config: AppConfig): PaymentGateway[] {
  if (config.gatewayMode === 'sandbox') requireSandboxKeys(config.sandbox.keysDir);
  const notifyUrl = (channel: Channel) => notifyUrlOf(config, channel, DEFAULT_ACCOUNT);
  return [
    new WechatPayGateway({ ...wechatSettings(config), notifyUrl: notifyUrl('wechat') }),
    new AlipayGateway({ ...alipaySettings(config), notifyUrl: notifyUrl('alipay') }),
    new UnionPayGateway({ ...unionpaySettings(config), notifyUrl: notifyUrl('unionpay') }),
  ];
}

/**
 * The gateway sandbox generates its test keys when it starts, before it listens; the app only reads them.
 * Without them no request of ours would pass the sandbox's signature checks, so the app does not start.
 */
function requireSandboxKeys(dir: string): void {
  if (isCurrentSandboxKeySet(dir)) return;
  throw new InvalidEnvironment([
    `SANDBOX_KEYS_DIR=${dir}: holds no current set of the gateway sandbox's test keys; start the sandbox first ` +
      '(npm run start:sandbox, or npm start for both), which generates them there',
  ]);
}

function unionpaySettings(config: AppConfig): Omit<UnionPaySettings, 'notifyUrl'> {
  const timeoutMs = config.gateways.timeoutMs;
  if (config.gatewayMode === 'sandbox') {
    const dir = config.sandbox.keysDir;
    const anchors: TrustAnchors = {
      root: new X509Certificate(readPem(dir, 'unionpayRootCert')),
      middle: new X509Certificate(readPem(dir, 'unionpayMiddleCert')),
      requireUnionPayCn: true,
    };
    checkAnchorDates(anchors, { root: `SANDBOX_KEYS_DIR=${dir}`, middle: `SANDBOX_KEYS_DIR=${dir}` });
    return {
      baseUrl: config.sandbox.url,
      fileUrl: `${config.sandbox.url}/filedownload`,
      merId: unionpaySandboxMeta(dir).merId,
      merchantPrivateKey: loadKey(dir, 'unionpayMerchantPrivate'),
      merchantCertId: certIdOf(new X509Certificate(readPem(dir, 'unionpayMerchantCert'))),
      anchors,
      timeoutMs,
    };
  }
  const live = config.unionpayLive;
  const missing = missingLiveSettings({
    UNIONPAY_MER_ID: live.merId,
    UNIONPAY_SIGN_KEY_FILE: live.signKeyFile,
    UNIONPAY_SIGN_CERT_FILE: live.signCertFile,
    UNIONPAY_ROOT_CERT_FILE: live.rootCertFile,
    UNIONPAY_MIDDLE_CERT_FILE: live.middleCertFile,
  });
  if (missing.length > 0) throw new InvalidEnvironment(missing);
  const anchors: TrustAnchors = {
    root: new X509Certificate(readFileSync(live.rootCertFile, 'utf8')),
    middle: new X509Certificate(readFileSync(live.middleCertFile, 'utf8')),
    requireUnionPayCn: live.requireUnionPayCn,
  };
  checkAnchorDates(anchors, {
    root: `UNIONPAY_ROOT_CERT_FILE=${live.rootCertFile}`,
    middle: `UNIONPAY_MIDDLE_CERT_FILE=${live.middleCertFile}`,
  });
  return {
    baseUrl: live.baseUrl,
    fileUrl: live.fileUrl,
    merId: live.merId,
    merchantPrivateKey: createPrivateKey(readFileSync(live.signKeyFile, 'utf8')),
    merchantCertId: certIdOf(new X509Certificate(readFileSync(live.signCertFile, 'utf8'))),
    anchors,
    timeoutMs,
  };
}

/**
 * Every UnionPay answer and notification is checked against the root and middle certificates: with either
 * out of its validity period none can be verified, so the app does not start; in the last 30 days it warns
 * at every boot, so the replacement is made before that.
 */
function checkAnchorDates(anchors: TrustAnchors, settings: Record<'root' | 'middle', string>): void {
  const problems: string[] = [];
  for (const { anchor, state, at } of anchorDates(anchors, new Date())) {
    const date = at.toISOString();
    if (state === 'expired')
      problems.push(`${settings[anchor]}: the UnionPay ${anchor} certificate expired on ${date}`);
    if (state === 'not_yet_valid') {
      problems.push(`${settings[anchor]}: the UnionPay ${anchor} certificate is not valid until ${date}`);
    }
    if (state === 'expires_soon') {
      new Logger('GatewayFactory').warn(
        `${settings[anchor]}: the UnionPay ${anchor} certificate expires on ${date}; install its successor before then`,
      );
    }
  }
  if (problems.length > 0) throw new InvalidEnvironment(problems);
}

/** The default Alipay account's settings (the sandbox's app, or ALIPAY_* in live mode; throws naming what is missing). */
export function alipaySettings(config: AppConfig): Omit<AlipaySettings, 'notifyUrl'> {
  const timeoutMs = config.gateways.timeoutMs;
  if (config.gatewayMode === 'sandbox') {
    const dir = config.sandbox.keysDir;
    return {
      gatewayUrl: `${config.sandbox.url}/gateway.do`,
      appId: alipaySandboxMeta(dir).appId,
      appPrivateKeyPem: readPem(dir, 'alipayAppPrivate'),
      alipayPublicKeyPem: readPem(dir, 'alipayPlatformPublic'),
      sellerId: alipaySandboxMeta(dir).sellerId,
      miniProgramAppIds: [alipayMiniProgramAppIdOf(alipaySandboxMeta(dir).appId)],
      timeoutMs,
    };
  }
  const live = config.alipayLive;
  const missing = missingLiveSettings({
    ALIPAY_APP_ID: live.appId,
    ALIPAY_APP_PRIVATE_KEY_FILE: live.appPrivateKeyFile,
    ALIPAY_PUBLIC_KEY_FILE: live.alipayPublicKeyFile,
  });
  if (missing.length > 0) throw new InvalidEnvironment(missing);
  return {
    gatewayUrl: live.gatewayUrl,
    appId: live.appId,
    appPrivateKeyPem: readFileSync(live.appPrivateKeyFile, 'utf8'),
    alipayPublicKeyPem: readFileSync(live.alipayPublicKeyFile, 'utf8'),
    sellerId: live.sellerId || undefined,
    miniProgramAppIds: live.miniProgramAppIds,
    timeoutMs,
  };
}

function wechatSettings(config: AppConfig): Omit<WechatPaySettings, 'notifyUrl'> {
  const timeoutMs = config.gateways.timeoutMs;
  if (config.gatewayMode === 'sandbox') {
    const dir = config.sandbox.keysDir;
    const meta = wechatSandboxMeta(dir);
    return {
      baseUrl: config.sandbox.url,
      mchid: meta.mchid,
      appid: meta.appid,
      miniProgramAppIds: [miniProgramAppIdOf(meta.appid)],
      mobileAppIds: [mobileAppIdOf(meta.appid)],
      merchantSerialNo: meta.merchantSerialNo,
      merchantPrivateKey: loadKey(dir, 'merchantPrivate'),
      platformKeys: new Map([[meta.platformKeyId, loadKey(dir, 'platformPublic')]]),
      apiV3Key: meta.apiV3Key,
      timeoutMs,
    };
  }
  const live = config.wechatLive;
  const missing = missingLiveSettings({
    WECHAT_MCHID: live.mchid,
    WECHAT_APPID: live.appid,
    WECHAT_MERCHANT_SERIAL_NO: live.merchantSerialNo,
    WECHAT_MERCHANT_PRIVATE_KEY_FILE: live.merchantPrivateKeyFile,
    WECHAT_APIV3_KEY: live.apiV3Key,
  });
  let platformFiles: Record<string, string> = {};
  try {
    platformFiles = JSON.parse(live.platformKeys) as Record<string, string>;
  } catch {
    missing.push('WECHAT_PLATFORM_KEYS: must be a JSON object of key id → PEM file');
  }
  if (Object.keys(platformFiles).length === 0)
    missing.push('WECHAT_PLATFORM_KEYS: at least one platform key is required');
  if (live.apiV3Key && live.apiV3Key.length !== 32) missing.push('WECHAT_APIV3_KEY: must be 32 characters');
  if (missing.length > 0) throw new InvalidEnvironment(missing);
  const platformKeys = new Map<string, KeyObject>(
    Object.entries(platformFiles).map(([id, file]) => [id, createPublicKey(readFileSync(file, 'utf8'))]),
  );
  return {
    baseUrl: live.baseUrl,
    mchid: live.mchid,
    appid: live.appid,
    miniProgramAppIds: live.miniProgramAppIds,
    mobileAppIds: live.mobileAppIds,
    merchantSerialNo: live.merchantSerialNo,
    merchantPrivateKey: createPrivateKey(readFileSync(live.merchantPrivateKeyFile, 'utf8')),
    platformKeys,
    apiV3Key: live.apiV3Key,
    timeoutMs,
  };
}

/** The settings a live gateway cannot start without, named as in .env.example. */
function missingLiveSettings(settings: Record<string, string>): string[] {
  return Object.entries(settings)
    .filter(([, value]) => !value)
    .map(([key]) => `${key}=(not set): required when GATEWAY_MODE=live`);
}
