/**
 * What the sandbox stores of each merchant created on demand, one JSON file per merchant under
 * SANDBOX_KEYS_DIR/merchants/ (`wechat-<mchid>.json`, `alipay-<appId>.json`, `unionpay-<merId>.json`), so a
 * restart keeps them. Test keys only: both halves are kept, so the file alone lets a developer configure the
 * merchant side again.
 */

export interface WechatPlatformKeyRecord {
  /** `PUB_KEY_ID_…`: what Wechatpay-Serial names. */
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface WechatSubMerchantRecord {
  subMchid: string;
  subAppid: string;
}

export interface WechatMerchantRecord {
  channel: 'wechat';
  /** A service provider (服务商) calls the partner APIs for its sub-merchants; a direct merchant for itself. */
  kind: 'direct' | 'service_provider';
  /**
   * The merchant of the key files: its file only records platform key rotations (the keys and which one
   * signs); everything else comes from the key files.
   */
  default?: boolean;
  /** The merchant's own number: for a service provider, its sp_mchid. */
  mchid: string;
  /** For a service provider, its sp_appid. */
  appid: string;
  merchantSerialNo: string;
  merchantPublicKeyPem: string;
  merchantPrivateKeyPem?: string;
  apiV3Key: string;
  /** Every platform key this merchant's answers were ever signed with, oldest first. */
  platformKeys: WechatPlatformKeyRecord[];
  /** The one that signs now. */
  signingKeyId: string;
  subMerchants: WechatSubMerchantRecord[];
}

export interface AlipayAuthorizationRecord {
  /** The token the ISV app sends as the common parameter `app_auth_token`. */
  appAuthToken: string;
  /** The authorising merchant's app id: `auth_app_id` in notifications. */
  authAppId: string;
  /** The authorising merchant's user id (2088…): the seller of the trades made with the token. */
  sellerId: string;
}

export interface AlipayAppRecord {
  channel: 'alipay';
  /** A third-party (ISV, 第三方应用) app acts for merchants that authorised it; a direct app for its owner. */
  kind: 'direct' | 'third_party';
  appId: string;
  /** The app owner's user id: the seller when the app acts for itself. */
  sellerId: string;
  appPublicKeyPem: string;
  appPrivateKeyPem: string;
  /** Alipay's key pair for this app (支付宝公钥 is per app in public-key mode). */
  alipayPrivateKeyPem: string;
  alipayPublicKeyPem: string;
  authorizations: AlipayAuthorizationRecord[];
}

export interface UnionpayMerchantRecord {
  channel: 'unionpay';
  kind: 'direct';
  merId: string;
  merchantCertPem: string;
  merchantPrivateKeyPem: string;
}

export type MerchantRecord = WechatMerchantRecord | AlipayAppRecord | UnionpayMerchantRecord;

/** The file name of a merchant's record; ids are checked to be plain digits / `wx…` first, so no path escapes. */
export function recordFileName(channel: MerchantRecord['channel'], id: string): string | undefined {
  return /^[A-Za-z0-9]{1,40}$/.test(id) ? `${channel}-${id}.json` : undefined;
}
