import { Controller, Get, Query, Res } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { wechatAppSecretOf } from '../../src/gateways/wire/sandbox-key-set';

/** How long WeChat's OAuth code lives (five minutes, one use). */
const CODE_TTL_MS = 5 * 60_000;
/** wx + 16 characters (the sandbox default, WeChat's own doc example wxd678efh567hg6787, is not all hex). */
const APPID = /^wx[0-9a-z]{16}$/;

/**
 * The openid the sandbox gives a buyer under an app: stable per (app, buyer), different across apps, as WeChat's
 * openids are. 28 characters like WeChat's.
 */
export function sandboxOpenid(appid: string, buyer: string): string {
  return `o${createHash('sha256').update(`${appid}:${buyer}`).digest('base64url').slice(0, 27)}`;
}

interface IssuedCode {
  appid: string;
  openid: string;
  scope: string;
  expiresAt: number;
  used: boolean;
}

/**
 * WeChat's web OAuth as the buyer's WeChat and WeChat's API play it: the authorize page (silent for
 * `snsapi_base`: straight back to redirect_uri with a code and the state) and the code exchange, which checks the
 * app's AppSecret (the sandbox's is derived from the app id: wechatAppSecretOf) and answers WeChat's errcodes for
 * a bad, used or expired code. The buyer is `sandbox_buyer` from the query (a test's handle; WeChat knows it from
 * the app), `buyer-1` by default.
 */
@Controller()
export class WechatOAuthSandboxController {
  private readonly codes = new Map<string, IssuedCode>();

  @Get('/connect/oauth2/authorize')
  authorize(@Query() query: Record<string, string | undefined>, @Res() res: Response) {
    const { appid = '', redirect_uri: redirectUri = '', response_type: type, scope = '', state = '' } = query;
    let target: URL | undefined;
    try {
      target = new URL(redirectUri);
    } catch {
      target = undefined;
    }
    // WeChat shows an error page for these; the buyer never comes back.
    const problem = !APPID.test(appid)
      ? 'appid 无效 (invalid appid)'
      : !target || !/^https?:$/.test(target.protocol)
        ? 'redirect_uri 参数错误'
        : type !== 'code'
          ? 'response_type must be code'
          : !['snsapi_base', 'snsapi_userinfo'].includes(scope)
            ? 'scope 参数错误'
            : !/^[A-Za-z0-9]{0,128}$/.test(state)
              ? 'state must be at most 128 of a-z A-Z 0-9'
              : undefined;
    if (problem || !target)
      return res
        .status(400)
        .type('text/plain')
        .send(problem ?? 'bad request');
    this.forgetExpired();
    const code = randomBytes(16).toString('hex');
    const buyer = query.sandbox_buyer || 'buyer-1';
    this.codes.set(code, {
      appid,
      openid: sandboxOpenid(appid, buyer),
      scope,
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    target.searchParams.set('code', code);
    target.searchParams.set('state', state);
    return res.redirect(302, target.toString());
  }

  @Get('/sns/oauth2/access_token')
  exchange(@Query() query: Record<string, string | undefined>) {
    const { appid = '', secret = '', code = '', grant_type: grantType } = query;
    if (!APPID.test(appid)) return { errcode: 40013, errmsg: 'invalid appid' };
    if (secret !== wechatAppSecretOf(appid)) return { errcode: 40125, errmsg: 'invalid appsecret' };
    if (grantType !== 'authorization_code') return { errcode: 40002, errmsg: 'invalid grant_type' };
    const issued = this.codes.get(code);
    if (!issued || issued.appid !== appid || issued.expiresAt < Date.now()) {
      return { errcode: 40029, errmsg: 'invalid code' };
    }
    if (issued.used) return { errcode: 40163, errmsg: 'code been used' };
    issued.used = true;
    return {
      access_token: randomBytes(24).toString('hex'),
      expires_in: 7200,
      refresh_token: randomBytes(24).toString('hex'),
      openid: issued.openid,
      scope: issued.scope,
    };
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [code, issued] of this.codes) if (issued.expiresAt < now - CODE_TTL_MS) this.codes.delete(code);
  }
}
