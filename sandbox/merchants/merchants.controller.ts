import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { type AlipayKind, SandboxMerchants, type WechatKind } from './sandbox-merchants';

const KINDS = {
  wechat: ['direct', 'service_provider'],
  alipay: ['direct', 'third_party'],
  unionpay: ['direct'],
} as const;

type Channel = keyof typeof KINDS;

/**
 * Merchants on demand, for tests and demos of several merchants on one Payment Center: each answer is the
 * merchant side's material (ids, the merchant's private key, the vendor's public key) to configure the app
 * with; the sandbox keeps the other halves under SANDBOX_KEYS_DIR/merchants/. Test keys only.
 */
@Controller('sandbox/merchants')
export class MerchantsController {
  constructor(@Inject(SandboxMerchants) private readonly merchants: SandboxMerchants) {}

  /** `{channel, kind?}`: a new merchant (kind defaults to direct). 400 for a channel or kind the sandbox has not. */
  @Post()
  async create(@Body() body: { channel?: unknown; kind?: unknown } | undefined) {
    const channel = body?.channel;
    if (typeof channel !== 'string' || !(channel in KINDS)) {
      throw new BadRequestException(`channel must be one of ${Object.keys(KINDS).join(', ')}`);
    }
    const kinds: readonly string[] = KINDS[channel as Channel];
    const kind = body?.kind ?? 'direct';
    if (typeof kind !== 'string' || !kinds.includes(kind)) {
      throw new BadRequestException(`kind of a ${channel} merchant must be one of ${kinds.join(', ')}`);
    }
    switch (channel as Channel) {
      case 'wechat':
        return this.merchants.createWechat(kind as WechatKind);
      case 'alipay':
        return this.merchants.createAlipay(kind as AlipayKind);
      case 'unionpay':
        return this.merchants.createUnionpay();
    }
  }

  @Get()
  list() {
    return this.merchants.list();
  }

  /** Another sub-merchant (特约商户) of a WeChat service provider: `{subMchid, subAppid}`. */
  @Post('wechat/:spMchid/sub-merchants')
  subMerchant(@Param('spMchid') spMchid: string) {
    const sub = this.merchants.addWechatSubMerchant(spMchid);
    if (!sub) throw new NotFoundException(`no WeChat service provider ${spMchid}`);
    return sub;
  }

  /** A new platform key for a WeChat merchant (the default one too): it signs from now on, the older ones stay known. */
  @Post('wechat/:mchid/platform-keys')
  async platformKey(@Param('mchid') mchid: string) {
    const key = await this.merchants.rotateWechatPlatformKey(mchid);
    if (!key) throw new NotFoundException(`no WeChat merchant ${mchid}`);
    return key;
  }

  /** `{platformKeyId}`: which of the merchant's known platform keys signs from now on (to overlap a rotation). */
  @Post('wechat/:mchid/signing-key')
  @HttpCode(200)
  signingKey(@Param('mchid') mchid: string, @Body() body: { platformKeyId?: unknown } | undefined) {
    const keyId = body?.platformKeyId;
    if (typeof keyId !== 'string') throw new BadRequestException('platformKeyId is required');
    switch (this.merchants.useWechatSigningKey(mchid, keyId)) {
      case 'no-merchant':
        throw new NotFoundException(`no WeChat merchant ${mchid}`);
      case 'no-key':
        throw new BadRequestException(`merchant ${mchid} has no platform key ${keyId}`);
      case 'ok':
        return { mchid, platformKeyId: keyId };
    }
  }

  /** Another merchant authorising an Alipay third-party app: `{appAuthToken, authAppId, sellerId}`. */
  @Post('alipay/:appId/app-auth-tokens')
  appAuthToken(@Param('appId') appId: string) {
    const grant = this.merchants.addAlipayAuthorization(appId);
    if (!grant) throw new NotFoundException(`no Alipay third-party app ${appId}`);
    return grant;
  }
}
