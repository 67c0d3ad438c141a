import { Controller, Get, Inject, Injectable, Query, Res } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { beijingTimestamp } from '../../src/gateways/wire/alipay.protocol';
import type { AlipayActor } from '../merchants/sandbox-merchants';
import { SandboxMerchants } from '../merchants/sandbox-merchants';

/** How long an auth_code lives: Alipay says one use, valid "3 minutes to 24 hours"; the sandbox takes the shortest. */
export const ALIPAY_AUTH_CODE_TTL_MS = 3 * 60_000;
/** The scopes of Alipay's user authorisation link (comma-separated when several). */
const SCOPES = new Set(['auth_base', 'auth_user']);

/**
 * The user id Alipay gives a sandbox buyer: 2088 and 12 digits, the same in every app (Alipay's user_id is the
 * user's, "支付宝用户的唯一userId"; only an open_id differs per app), so it is a buyer_id trade.create and the
 * sandbox's my.tradePay take.
 */
export function sandboxAlipayUserId(buyer: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`alipay-user:${buyer}`).digest('hex').slice(0, 15)}`);
  return `2088${(digits % 10n ** 12n).toString().padStart(12, '0')}`;
}

interface IssuedCode {
  /** The app the buyer authorised (the link's app_id): only its own calls, or its ISV's with its token, exchange it. */
  appId: string;
  userId: string;
  expiresAt: number;
  used: boolean;
}

type Reply = Record<string, string | undefined>;

/** The auth_codes the sandbox's authorize page issued, and their exchange (alipay.system.oauth.token). */
@Injectable()
export class AlipayOAuthCodes {
  private readonly codes = new Map<string, IssuedCode>();

  issue(appId: string, buyer: string, now = Date.now()): string {
    for (const [code, issued] of this.codes)
      if (issued.expiresAt < now - ALIPAY_AUTH_CODE_TTL_MS) this.codes.delete(code);
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, {
      appId,
      userId: sandboxAlipayUserId(buyer),
      expiresAt: now + ALIPAY_AUTH_CODE_TTL_MS,
      used: false,
    });
    return code;
  }

  /**
   * alipay.system.oauth.token for the (signature-checked) app `actor`: grant_type and code are common-level
   * parameters. A code of another app, used, expired or never issued is isv.code-invalid, as Alipay lumps them; the
   * answer carries the user id and tokens (which the sandbox accepts nowhere else).
   */
  exchange(actor: AlipayActor, params: Record<string, string>, now = Date.now()): Reply {
    const refuse = (subCode: string, subMsg: string) => ({
      code: '40002',
      msg: 'Invalid Arguments',
      sub_code: subCode,
      sub_msg: subMsg,
    });
    if (params.grant_type !== 'authorization_code') {
      // The sandbox hands out no refresh tokens it would take back.
      return refuse('isv.grant-type-invalid', 'grant_type参数不正确');
    }
    const issued = params.code ? this.codes.get(params.code) : undefined;
    if (!issued || issued.appId !== actor.authAppId || issued.expiresAt < now || issued.used) {
      return refuse('isv.code-invalid', '授权码code无效');
    }
    issued.used = true;
    return {
      user_id: issued.userId,
      access_token: `authbseB${randomBytes(16).toString('hex')}`,
      expires_in: '1296000',
      refresh_token: `authbseB${randomBytes(16).toString('hex')}`,
      re_expires_in: '2592000',
      auth_start: beijingTimestamp(new Date(now)),
    };
  }
}

/**
 * Alipay's user authorisation page as the buyer's Alipay plays it (`openauth.alipay.com/oauth2/
 * publicAppAuthorize.htm`): for `auth_base`, silent, straight back to redirect_uri with `auth_code`, `app_id`,
 * `scope` and `state`. The buyer is `sandbox_buyer` from the query (a test's handle; Alipay knows the logged-in
 * user), `buyer-1` by default. Alipay shows an error page, and never comes back, for an app it does not know or a
 * bad parameter.
 */
@Controller()
export class AlipayOAuthSandboxController {
  constructor(
    @Inject(AlipayOAuthCodes) private readonly codes: AlipayOAuthCodes,
    @Inject(SandboxMerchants) private readonly merchants: SandboxMerchants,
  ) {}

  @Get('/oauth2/publicAppAuthorize.htm')
  authorize(@Query() query: Record<string, string | undefined>, @Res() res: Response) {
    const { app_id: appId = '', scope = '', redirect_uri: redirectUri = '', state } = query;
    const target = URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
    const problem =
      !/^\d{16}$/.test(appId) || !this.merchants.isAlipayApp(appId)
        ? 'invalid app_id (无效的AppID)'
        : !target || !/^https?:$/.test(target.protocol)
          ? 'redirect_uri must be an http(s) URL'
          : !scope.split(',').every((s) => SCOPES.has(s))
            ? 'scope must be auth_base or auth_user'
            : state !== undefined && !/^[\x21-\x7e]{0,100}$/.test(state)
              ? 'state: at most 100 characters, no Chinese'
              : undefined;
    if (problem || !target)
      return res
        .status(400)
        .type('text/plain')
        .send(problem ?? 'bad request');
    const code = this.codes.issue(appId, query.sandbox_buyer || 'buyer-1');
    target.searchParams.set('app_id', appId);
    target.searchParams.set('source', 'alipay_wallet');
    target.searchParams.set('scope', scope);
    target.searchParams.set('auth_code', code);
    if (state !== undefined) target.searchParams.set('state', state);
    return res.redirect(302, target.toString());
  }
}
