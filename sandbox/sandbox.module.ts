import { type DynamicModule, Module } from '@nestjs/common';
import { SANDBOX_SETTINGS, type SandboxSettings } from './sandbox.settings';
import { SandboxNotifier } from './sandbox-notifier';
import { SandboxTrades } from './sandbox-trades';
import { AlipayOAuthCodes, AlipayOAuthSandboxController } from './alipay/alipay-oauth';
import { AlipaySandboxController } from './alipay/alipay-sandbox.controller';
import { CashierController } from './cashier/cashier.controller';
import { MerchantsController } from './merchants/merchants.controller';
import { SandboxMerchants } from './merchants/sandbox-merchants';
import { UnionpaySandboxController } from './unionpay/unionpay-sandbox.controller';
import { WechatPartnerSandboxController } from './wechat/wechat-partner-sandbox.controller';
import { WechatOAuthSandboxController } from './wechat/wechat-oauth.controller';
import { WechatSandboxController } from './wechat/wechat-sandbox.controller';
import { WechatSandboxVendor } from './wechat/wechat-sandbox-vendor';

/**
 * The gateway sandbox: vendor endpoints at the vendors' paths for any number of merchants, a buyer simulator,
 * fault switches and merchants on demand.
 */
@Module({})
export class SandboxModule {
  static forRoot(settings: SandboxSettings): DynamicModule {
    return {
      module: SandboxModule,
      controllers: [
        WechatSandboxController,
        WechatPartnerSandboxController,
        WechatOAuthSandboxController,
        AlipaySandboxController,
        AlipayOAuthSandboxController,
        UnionpaySandboxController,
        CashierController,
        MerchantsController,
      ],
      providers: [
        { provide: SANDBOX_SETTINGS, useValue: settings },
        SandboxTrades,
        SandboxNotifier,
        SandboxMerchants,
        WechatSandboxVendor,
        AlipayOAuthCodes,
      ],
    };
  }
}
