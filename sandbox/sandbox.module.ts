import { type DynamicModule, Module } from '@nestjs/common';
import { SANDBOX_SETTINGS, type SandboxSettings } from './sandbox.settings';
import { SandboxNotifier } from './sandbox-notifier';
import { SandboxTrades } from './sandbox-trades';
import { AlipaySandboxController } from './alipay/alipay-sandbox.controller';
import { CashierController } from './cashier/cashier.controller';
import { UnionpaySandboxController } from './unionpay/unionpay-sandbox.controller';
import { WechatSandboxController } from './wechat/wechat-sandbox.controller';

/** The gateway sandbox: vendor endpoints at the vendors' paths, a buyer simulator and fault switches. */
@Module({})
export class SandboxModule {
  static forRoot(settings: SandboxSettings): DynamicModule {
    return {
      module: SandboxModule,
      controllers: [WechatSandboxController, AlipaySandboxController, UnionpaySandboxController, CashierController],
      providers: [{ provide: SANDBOX_SETTINGS, useValue: settings }, SandboxTrades, SandboxNotifier],
    };
  }
}
