import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { Channel } from '../gateway.types';
import { AlipayOAuth } from '../alipay/alipay-oauth';
import { alipaySettings } from '../gateway-factory';
import { wechatAppSecretOf, wechatSandboxMeta } from '../wire/sandbox-key-set';
import { WechatOAuth } from '../wechat/wechat-oauth';
import type { BuyerIdentityProvider } from './buyer-identity-provider';

/**
 * The vendors' OAuth for the deployment's default accounts (the environment's), made from the configuration: the
 * sandbox's in sandbox mode; in live mode WeChat's when WECHAT_APP_SECRET is set, Alipay's (with the Alipay app's
 * own keys, the adapter's settings) unless ALIPAY_OAUTH_AUTHORIZE_URL is emptied. A channel without one offers no
 * buyer identity (and the aggregate code falls back to its choice page there).
 */
@Injectable()
export class BuyerIdentityProviders {
  private providers: Map<Channel, BuyerIdentityProvider> | undefined;

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  of(channel: Channel): BuyerIdentityProvider | undefined {
    // Made at first use: a process that never identifies a buyer never reads the sandbox's key files.
    this.providers ??= this.make();
    return this.providers.get(channel);
  }

  private make(): Map<Channel, BuyerIdentityProvider> {
    const config = this.config;
    const providers = new Map<Channel, BuyerIdentityProvider>();
    const timeoutMs = config.gateways.timeoutMs;
    if (config.gatewayMode === 'sandbox') {
      const { appid } = wechatSandboxMeta(config.sandbox.keysDir);
      providers.set(
        'wechat',
        new WechatOAuth({
          appid,
          appSecret: wechatAppSecretOf(appid),
          authorizeUrl: `${config.sandbox.url}/connect/oauth2/authorize`,
          apiUrl: config.sandbox.url,
          timeoutMs,
        }),
      );
      providers.set(
        'alipay',
        new AlipayOAuth({
          ...alipaySettings(config),
          authorizeUrl: `${config.sandbox.url}/oauth2/publicAppAuthorize.htm`,
        }),
      );
      return providers;
    }
    if (config.identity.alipayAuthorizeUrl && config.alipayLive.appId) {
      providers.set(
        'alipay',
        new AlipayOAuth({ ...alipaySettings(config), authorizeUrl: config.identity.alipayAuthorizeUrl }),
      );
    }
    if (config.identity.wechatAppSecret && config.wechatLive.appid) {
      providers.set(
        'wechat',
        new WechatOAuth({
          appid: config.wechatLive.appid,
          appSecret: config.identity.wechatAppSecret,
          authorizeUrl: config.identity.wechatAuthorizeUrl,
          apiUrl: config.identity.wechatApiUrl,
          timeoutMs,
        }),
      );
    }
    return providers;
  }
}
