import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { AppConfig } from '../../config/app-config';
import { AlipayGateway } from '../alipay/alipay.gateway';
import type { Channel } from '../gateway.types';
import type { PaymentGateway } from '../payment-gateway';
import { UnionPayGateway } from '../unionpay/unionpay.gateway';
import { certIdOf } from '../wire/unionpay.protocol';
import { WechatPayGateway } from '../wechat/wechat-pay.gateway';
import type {
  AlipayAccountSecrets,
  AlipayAccountSettings,
  UnionpayAccountSecrets,
  UnionpayAccountSettings,
  WechatAccountSecrets,
  WechatAccountSettings,
} from './account-material';

/** The environment's own account of every channel, configured by its settings (or the sandbox's key files). */
export const DEFAULT_ACCOUNT = 'default';

/**
 * Where callbacks for an account arrive. The default account keeps the URL it always had, so trades made
 * before accounts existed are still notified where the vendor was told to.
 */
export function notifyUrlOf(config: AppConfig, channel: Channel, accountId: string): string {
  const base = `${config.publicBaseUrl}/api/payments/notify/${channel}`;
  return accountId === DEFAULT_ACCOUNT ? base : `${base}/${accountId}`;
}

/**
 * Which vendor host an account talks to: the one the deployment's mode says (the sandbox's, or each vendor's
 * configured live URL). Accounts differ in who they are, never in where the vendor is.
 */
function endpoints(config: AppConfig) {
  if (config.gatewayMode === 'sandbox') {
    const url = config.sandbox.url;
    return { wechat: url, alipay: `${url}/gateway.do`, unionpay: url, unionpayFiles: `${url}/filedownload` };
  }
  return {
    wechat: config.wechatLive.baseUrl,
    alipay: config.alipayLive.gatewayUrl,
    unionpay: config.unionpayLive.baseUrl,
    unionpayFiles: config.unionpayLive.fileUrl,
  };
}

/**
 * What builds a stored account's adapter (gatewayForAccount): a provider, so that a benchmark's app can make
 * adapters that answer at once for stored accounts as it does for the default ones.
 */
export const ACCOUNT_GATEWAY_FACTORY = Symbol('ACCOUNT_GATEWAY_FACTORY');
export type AccountGatewayFactory = typeof gatewayForAccount;

/** The adapter of a stored account, from its opened secrets (checked by accountProblems when it was saved). */
export function gatewayForAccount(
  config: AppConfig,
  account: { id: string; channel: Channel; settings: Record<string, unknown> },
  secrets: Record<string, string>,
): PaymentGateway {
  const urls = endpoints(config);
  const common = { notifyUrl: notifyUrlOf(config, account.channel, account.id), timeoutMs: config.gateways.timeoutMs };
  switch (account.channel) {
    case 'wechat': {
      const settings = account.settings as unknown as WechatAccountSettings;
      const secret = secrets as unknown as WechatAccountSecrets;
      const wechat = {
        ...common,
        baseUrl: urls.wechat,
        mchid: settings.mchid,
        appid: settings.appid,
        miniProgramAppIds: settings.miniProgramAppIds,
        mobileAppIds: settings.mobileAppIds,
        merchantSerialNo: settings.merchantSerialNo,
        merchantPrivateKey: createPrivateKey(secret.merchantPrivateKeyPem),
        platformKeys: new Map(Object.entries(settings.platformKeys).map(([id, pem]) => [id, createPublicKey(pem)])),
        apiV3Key: secret.apiV3Key,
        subMchid: settings.subMchid,
        subAppid: settings.subAppid,
      };
      return new WechatPayGateway(wechat);
    }
    case 'alipay': {
      const settings = account.settings as unknown as AlipayAccountSettings;
      const secret = secrets as unknown as AlipayAccountSecrets;
      const alipay = {
        ...common,
        gatewayUrl: urls.alipay,
        appId: settings.appId,
        appPrivateKeyPem: secret.appPrivateKeyPem,
        alipayPublicKeyPem: settings.alipayPublicKeyPem,
        sellerId: settings.sellerId,
        miniProgramAppIds: settings.miniProgramAppIds,
        appAuthToken: secret.appAuthToken,
        authAppId: settings.authAppId,
      };
      return new AlipayGateway(alipay);
    }
    case 'unionpay': {
      const settings = account.settings as unknown as UnionpayAccountSettings;
      const secret = secrets as unknown as UnionpayAccountSecrets;
      return new UnionPayGateway({
        ...common,
        baseUrl: urls.unionpay,
        fileUrl: urls.unionpayFiles,
        merId: settings.merId,
        merchantPrivateKey: createPrivateKey(secret.merchantPrivateKeyPem),
        merchantCertId: certIdOf(new X509Certificate(settings.merchantCertPem)),
        anchors: {
          root: new X509Certificate(settings.rootCertPem),
          middle: new X509Certificate(settings.middleCertPem),
          requireUnionPayCn: config.gatewayMode === 'sandbox' ? true : config.unionpayLive.requireUnionPayCn,
        },
      });
    }
  }
}
