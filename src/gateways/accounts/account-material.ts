import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { Channel } from '../gateway.types';

/**
 * What a channel account is made of, per vendor: the public part (kept readable in `settings`) and the
 * secrets (sealed). The checks here run when an operator creates or rotates an account, so a key that does
 * not parse is refused then, naming the field, and never turns into a failed payment later.
 */
export interface WechatAccountSettings {
  /** The merchant's mchid; in service-provider mode the service provider's (sp_mchid). */
  mchid: string;
  /** The app id payments are made for; in service-provider mode sp_appid. */
  appid: string;
  merchantSerialNo: string;
  /** Platform public key ids (`PUB_KEY_ID_…` or certificate serials) → PEM. Several during a rotation. */
  platformKeys: Record<string, string>;
  /** The merchant's mini-programs: in-app payments may name one (as WECHAT_MINI_PROGRAM_APP_IDS). */
  miniProgramAppIds?: string[];
  /** The merchant's mobile apps: APP payments are made under the first or a named one (as WECHAT_MOBILE_APP_IDS). */
  mobileAppIds?: string[];
  /** Service-provider mode (服务商): the sub-merchant the payments are made for. */
  subMchid?: string;
  subAppid?: string;
}
export interface WechatAccountSecrets {
  merchantPrivateKeyPem: string;
  apiV3Key: string;
}

export interface AlipayAccountSettings {
  appId: string;
  alipayPublicKeyPem: string;
  /** The seller (2088…) notifications must name, when known. */
  sellerId?: string;
  /** Third-party mode: the authorising merchant's app id (notifications' auth_app_id). */
  authAppId?: string;
  /** The merchant's mini-programs (16-digit app ids) a mini-program payment may name (op_app_id). */
  miniProgramAppIds?: string[];
}
export interface AlipayAccountSecrets {
  appPrivateKeyPem: string;
  /** Third-party mode: the token the merchant's authorisation gave the app (common parameter app_auth_token). */
  appAuthToken?: string;
}

export interface UnionpayAccountSettings {
  merId: string;
  merchantCertPem: string;
  rootCertPem: string;
  middleCertPem: string;
}
export interface UnionpayAccountSecrets {
  merchantPrivateKeyPem: string;
}

export type AccountKind = 'direct' | 'service_provider' | 'third_party';

/** A channel account id as callers name it (notify URLs, pay requests, filters): 1-32 of a-z, 0-9 and -. */
export const ACCOUNT_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** The id of an account being created: at least 3 characters (and never `default`, the environment's). */
export const NEW_ACCOUNT_ID = /^[a-z0-9][a-z0-9-]{2,31}$/;

/** The secret fields of each channel: the only values sealed, and the only ones never shown again. */
export const SECRET_FIELDS: Record<Channel, readonly string[]> = {
  wechat: ['merchantPrivateKeyPem', 'apiV3Key'],
  alipay: ['appPrivateKeyPem', 'appAuthToken'],
  unionpay: ['merchantPrivateKeyPem'],
};

export function kindOf(
  channel: Channel,
  settings: Record<string, unknown>,
  secretFields: readonly string[],
): AccountKind {
  if (channel === 'wechat' && typeof settings.subMchid === 'string') return 'service_provider';
  if (channel === 'alipay' && secretFields.includes('appAuthToken')) return 'third_party';
  return 'direct';
}

type Problems = string[];

const PEM_MAX = 8192;

function text(problems: Problems, where: string, value: unknown, pattern: RegExp, hint: string): void {
  if (typeof value !== 'string' || !pattern.test(value)) problems.push(`${where}: ${hint}`);
}

function optional(problems: Problems, where: string, value: unknown, pattern: RegExp, hint: string): void {
  if (value !== undefined) text(problems, where, value, pattern, hint);
}

function pem(problems: Problems, where: string, value: unknown, parse: (pem: string) => unknown, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > PEM_MAX) {
    problems.push(`${where}: a PEM ${what} is required (at most ${PEM_MAX} characters)`);
    return;
  }
  try {
    parse(value);
  } catch {
    problems.push(`${where}: is not a PEM ${what}`);
  }
}

function onlyKnown(problems: Problems, where: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value))
    if (!known.includes(key)) problems.push(`${where}.${key}: is not a known field`);
}

const MCHID = /^\d{8,12}$/;
const WECHAT_APP_ID = /^wx[0-9a-f]{16}$/;

/** An optional list of WeChat app ids (a merchant's mini-programs or mobile apps): at most 10, each wx + 16 hex. */
function appIdList(problems: Problems, field: string, value: unknown): void {
  if (value === undefined) return;
  const hint = 'an array of WeChat app ids (wx + 16 hex digits), at most 10';
  if (!Array.isArray(value) || value.length > 10) problems.push(`settings.${field}: ${hint}`);
  else value.forEach((id, i) => text(problems, `settings.${field}[${i}]`, id, WECHAT_APP_ID, hint));
}
const APPID = /^[A-Za-z0-9_]{6,32}$/;
const SERIAL = /^[A-Za-z0-9_]{1,64}$/;

/** Every problem with a channel's settings and secrets, each naming its field; none when they are usable. */
export function accountProblems(
  channel: Channel,
  settings: Record<string, unknown>,
  secrets: Record<string, unknown>,
): string[] {
  const problems: Problems = [];
  switch (channel) {
    case 'wechat': {
      onlyKnown(problems, 'settings', settings, [
        'mchid',
        'appid',
        'merchantSerialNo',
        'platformKeys',
        'miniProgramAppIds',
        'mobileAppIds',
        'subMchid',
        'subAppid',
      ]);
      onlyKnown(problems, 'secrets', secrets, SECRET_FIELDS.wechat);
      text(
        problems,
        'settings.mchid',
        settings.mchid,
        MCHID,
        'the mchid (sp_mchid for a service provider): 8 to 12 digits',
      );
      text(problems, 'settings.appid', settings.appid, APPID, 'the app id: 6 to 32 letters, digits or _');
      text(
        problems,
        'settings.merchantSerialNo',
        settings.merchantSerialNo,
        SERIAL,
        "the merchant certificate's serial",
      );
      for (const field of ['miniProgramAppIds', 'mobileAppIds'] as const) appIdList(problems, field, settings[field]);
      optional(problems, 'settings.subMchid', settings.subMchid, MCHID, 'the sub-merchant mchid: 8 to 12 digits');
      optional(problems, 'settings.subAppid', settings.subAppid, APPID, 'the sub-merchant app id');
      if (settings.subAppid !== undefined && settings.subMchid === undefined)
        problems.push('settings.subAppid: only with settings.subMchid (service-provider mode)');
      const keys = settings.platformKeys;
      if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || Object.keys(keys).length === 0) {
        problems.push('settings.platformKeys: an object of platform key id → PEM public key, at least one');
      } else if (Object.keys(keys).length > 4) {
        problems.push('settings.platformKeys: at most 4 keys (the current ones and those being rotated out)');
      } else {
        for (const [id, value] of Object.entries(keys as Record<string, unknown>)) {
          if (!SERIAL.test(id))
            problems.push(`settings.platformKeys: key id ${JSON.stringify(id.slice(0, 70))} is not a key id`);
          pem(problems, `settings.platformKeys.${id.slice(0, 70)}`, value, createPublicKey, 'public key');
        }
      }
      pem(problems, 'secrets.merchantPrivateKeyPem', secrets.merchantPrivateKeyPem, createPrivateKey, 'private key');
      text(problems, 'secrets.apiV3Key', secrets.apiV3Key, /^[\x21-\x7e]{32}$/, 'the APIv3 key: exactly 32 characters');
      break;
    }
    case 'alipay': {
      onlyKnown(problems, 'settings', settings, [
        'appId',
        'alipayPublicKeyPem',
        'sellerId',
        'authAppId',
        'miniProgramAppIds',
      ]);
      onlyKnown(problems, 'secrets', secrets, SECRET_FIELDS.alipay);
      text(problems, 'settings.appId', settings.appId, /^\d{16}$/, 'the app id: 16 digits');
      pem(problems, 'settings.alipayPublicKeyPem', settings.alipayPublicKeyPem, createPublicKey, 'public key');
      optional(problems, 'settings.sellerId', settings.sellerId, /^2088\d{12}$/, 'the seller id: 2088 and 12 digits');
      optional(problems, 'settings.authAppId', settings.authAppId, /^\d{16}$/, "the authorising merchant's app id");
      const miniPrograms = settings.miniProgramAppIds;
      if (
        miniPrograms !== undefined &&
        (!Array.isArray(miniPrograms) ||
          miniPrograms.length > 20 ||
          !miniPrograms.every((id) => typeof id === 'string' && /^\d{16}$/.test(id)))
      ) {
        problems.push('settings.miniProgramAppIds: an array of at most 20 mini-program app ids (16 digits each)');
      }
      pem(problems, 'secrets.appPrivateKeyPem', secrets.appPrivateKeyPem, createPrivateKey, 'private key');
      optional(problems, 'secrets.appAuthToken', secrets.appAuthToken, /^[\x21-\x7e]{8,128}$/, 'the app auth token');
      if ((secrets.appAuthToken === undefined) !== (settings.authAppId === undefined))
        problems.push('secrets.appAuthToken and settings.authAppId: both or neither (third-party mode)');
      break;
    }
    case 'unionpay': {
      onlyKnown(problems, 'settings', settings, ['merId', 'merchantCertPem', 'rootCertPem', 'middleCertPem']);
      onlyKnown(problems, 'secrets', secrets, SECRET_FIELDS.unionpay);
      text(problems, 'settings.merId', settings.merId, /^\d{15}$/, 'the merId: 15 digits');
      for (const field of ['merchantCertPem', 'rootCertPem', 'middleCertPem'] as const)
        pem(problems, `settings.${field}`, settings[field], (v) => new X509Certificate(v), 'certificate');
      pem(problems, 'secrets.merchantPrivateKeyPem', secrets.merchantPrivateKeyPem, createPrivateKey, 'private key');
      break;
    }
  }
  return problems;
}
