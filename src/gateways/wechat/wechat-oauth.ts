import type { BuyerIdentityProvider, IdentityResult } from '../identity/buyer-identity-provider';

export interface WechatOAuthSettings {
  /** The official account whose openids are learnt (the account's WECHAT_APPID). */
  appid: string;
  /** Its AppSecret: sent only to WeChat's exchange, never logged. */
  appSecret: string;
  /** https://open.weixin.qq.com/connect/oauth2/authorize, or the sandbox's. */
  authorizeUrl: string;
  /** https://api.weixin.qq.com, or the sandbox's. */
  apiUrl: string;
  timeoutMs: number;
}

/** A WeChat openid: 28 characters of A-Z a-z 0-9 _ - in practice. */
const OPENID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * WeChat's web OAuth for pages inside WeChat (网页授权, scope `snsapi_base`: silent, openid only). The authorize
 * page takes appid, redirect_uri (URL-encoded), response_type=code, scope and state (A-Z a-z 0-9, at most 128
 * bytes) and must end in `#wechat_redirect`; it comes back with `code` (one use, five minutes) and `state`.
 * `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` answers the openid, or an
 * `errcode` (40029 invalid code, 40163 code used, 40125 invalid secret...).
 */
export class WechatOAuth implements BuyerIdentityProvider {
  readonly channel = 'wechat' as const;
  readonly codeParameter = 'code';

  constructor(private readonly settings: WechatOAuthSettings) {}

  get appId(): string {
    return this.settings.appid;
  }

  authorizeUrl(redirectUri: string, state: string): string {
    const query = new URLSearchParams({
      appid: this.settings.appid,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
    });
    return `${this.settings.authorizeUrl}?${query.toString()}#wechat_redirect`;
  }

  async exchange(code: string): Promise<IdentityResult> {
    const query = new URLSearchParams({
      appid: this.settings.appid,
      secret: this.settings.appSecret,
      code,
      grant_type: 'authorization_code',
    });
    let response: Response;
    try {
      response = await fetch(`${this.settings.apiUrl}/sns/oauth2/access_token?${query.toString()}`, {
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      // The URL carries the secret: only the error's name goes into the reason.
      return { kind: 'unknown', reason: `WeChat OAuth: ${(error as Error).name}` };
    }
    if (response.status !== 200) return { kind: 'unknown', reason: `WeChat OAuth: HTTP ${response.status}` };
    let body: { openid?: unknown; errcode?: unknown; errmsg?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      return { kind: 'unknown', reason: 'WeChat OAuth: not JSON' };
    }
    if (typeof body.openid === 'string' && OPENID.test(body.openid))
      return { kind: 'identified', payerId: body.openid };
    // -1 is WeChat's "system busy": ask again. Any other errcode is about the code or the app: definite.
    if (typeof body.errcode === 'number' && body.errcode !== -1 && body.errcode !== 0) {
      return {
        kind: 'refused',
        code: String(body.errcode),
        message: typeof body.errmsg === 'string' ? body.errmsg.slice(0, 200) : '',
      };
    }
    return { kind: 'unknown', reason: `WeChat OAuth: no openid (errcode ${String(body.errcode)})` };
  }
}
