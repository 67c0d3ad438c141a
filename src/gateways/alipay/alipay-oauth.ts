import type { KeyObject } from 'node:crypto';
import { AlipayRequestError, type AlipaySdk } from 'alipay-sdk';
import type { BuyerIdentityProvider, IdentityResult } from '../identity/buyer-identity-provider';
import { alipayPublicKeyOf, alipaySignedNode, rsa2Verify } from '../wire/alipay.protocol';
import { ALIPAY_OPEN_ID, ALIPAY_USER_ID, alipaySdkOf, type AlipaySettings } from './alipay.gateway';

export type AlipayOAuthSettings = Pick<
  AlipaySettings,
  'gatewayUrl' | 'appId' | 'appPrivateKeyPem' | 'alipayPublicKeyPem' | 'timeoutMs' | 'appAuthToken' | 'authAppId'
> & {
  /** https://openauth.alipay.com/oauth2/publicAppAuthorize.htm, or the sandbox's. */
  authorizeUrl: string;
};

/**
 * The sub_codes of alipay.system.oauth.token that say this code will never be exchanged: isv.code-invalid (a
 * code mistyped, already used, expired, or got for another app), isv.unmatched-app-id (the code belongs to
 * another app) and isv.grant-type-invalid. Anything else (isp.unknow-error, 20000, a timeout) is unknown.
 */
const DEFINITE_CODE_REFUSALS = new Set(['isv.code-invalid', 'isv.unmatched-app-id', 'isv.grant-type-invalid']);

/** What Alipay documents for `code` (String 40); anything far off it is not worth a call. */
const AUTH_CODE = /^[A-Za-z0-9_-]{1,64}$/;
/** Our pay API takes a payerId of at most 64 characters: a longer open_id could not be paid with. */
const PAYER_ID_MAX = 64;

interface OAuthTokenAnswer {
  userId?: unknown;
  openId?: unknown;
  code?: unknown;
  msg?: unknown;
  subCode?: unknown;
  subMsg?: unknown;
}

/**
 * Alipay's user authorisation for pages inside Alipay (用户信息授权, scope `auth_base`: silent, the user id only).
 * The authorize page takes app_id, scope, redirect_uri (URL-encoded; registered as the app's 授权回调地址) and
 * state (at most 100 characters, no Chinese), and comes back with `auth_code` (one use; expires), app_id, scope
 * and state. `alipay.system.oauth.token` (grant_type authorization_code, code: common-level parameters, no
 * biz_content) answers `user_id` (2088 and 12 digits) or, for apps Alipay gives open_ids, `open_id`.
 *
 * A third-party app (app_auth_token) learns the buyer for the merchant that authorised it: the authorize link
 * names that merchant's app (`authAppId`, "授权商家的 appid"), the exchange is the ISV's call with the token.
 *
 * Signed and verified by alipay-sdk like every adapter call. One gap: Alipay answers this method's refusals as
 * `error_response` (signed over that object), which alipay-sdk 4.14 cannot verify (it looks for the method's own
 * key and throws); such an answer is verified here, over the same span Alipay's Java SDK verifies.
 */
export class AlipayOAuth implements BuyerIdentityProvider {
  readonly channel = 'alipay' as const;
  readonly codeParameter = 'auth_code';
  private readonly sdk: AlipaySdk;
  private readonly alipayPublicKey: KeyObject;

  constructor(private readonly settings: AlipayOAuthSettings) {
    if (!settings.appAuthToken !== !settings.authAppId) {
      throw new Error(
        'AlipayOAuthSettings: appAuthToken and authAppId are set together (third-party app) or not at all',
      );
    }
    this.sdk = alipaySdkOf(settings);
    this.alipayPublicKey = alipayPublicKeyOf(settings.alipayPublicKeyPem);
  }

  /** The merchant's app: the ids it learns are for payments under it (an open_id is per app). */
  get appId(): string {
    return this.settings.authAppId ?? this.settings.appId;
  }

  authorizeUrl(redirectUri: string, state: string): string {
    const query = new URLSearchParams({ app_id: this.appId, scope: 'auth_base', redirect_uri: redirectUri, state });
    return `${this.settings.authorizeUrl}?${query.toString()}`;
  }

  async exchange(code: string): Promise<IdentityResult> {
    // Never sent: Alipay would only answer isv.code-invalid.
    if (!AUTH_CODE.test(code)) return { kind: 'refused', code: 'isv.code-invalid', message: 'not an auth_code' };
    const { appAuthToken } = this.settings;
    let answer: OAuthTokenAnswer;
    try {
      // Top-level parameters, snake-cased by the SDK (grant_type, app_auth_token) and signed with the rest.
      answer = await this.sdk.exec(
        'alipay.system.oauth.token',
        { grantType: 'authorization_code', code, ...(appAuthToken ? { appAuthToken } : {}) },
        { validateSign: true },
      );
    } catch (error) {
      const refusal = this.signedErrorResponse(error);
      if (!refusal) return { kind: 'unknown', reason: `Alipay OAuth: ${(error as Error).message.slice(0, 200)}` };
      answer = refusal;
    }
    return answerOf(answer);
  }

  /** A refusal Alipay sent as `error_response` and signed, if that is what the SDK could not verify. */
  private signedErrorResponse(error: unknown): OAuthTokenAnswer | undefined {
    if (!(error instanceof AlipayRequestError) || typeof error.responseDataRaw !== 'string') return undefined;
    const raw = error.responseDataRaw;
    const node = alipaySignedNode(raw, 'error_response');
    let sign: unknown;
    try {
      sign = (JSON.parse(raw) as { sign?: unknown }).sign;
    } catch {
      return undefined;
    }
    if (!node || typeof sign !== 'string' || !rsa2Verify(node, sign, this.alipayPublicKey)) return undefined;
    const fields = JSON.parse(node) as Record<string, unknown>;
    return { code: fields.code, msg: fields.msg, subCode: fields.sub_code, subMsg: fields.sub_msg };
  }
}

function answerOf(answer: OAuthTokenAnswer): IdentityResult {
  if (typeof answer.userId === 'string' && ALIPAY_USER_ID.test(answer.userId)) {
    return { kind: 'identified', payerId: answer.userId };
  }
  const { openId } = answer;
  if (typeof openId === 'string' && ALIPAY_OPEN_ID.test(openId) && openId.length <= PAYER_ID_MAX) {
    return { kind: 'identified', payerId: openId };
  }
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : '');
  if (typeof answer.subCode === 'string' && DEFINITE_CODE_REFUSALS.has(answer.subCode)) {
    return { kind: 'refused', code: answer.subCode, message: text(answer.subMsg) };
  }
  const described = [answer.code, answer.subCode, answer.subMsg ?? answer.msg].map(text).filter(Boolean).join(' ');
  return { kind: 'unknown', reason: `Alipay OAuth: ${described || 'no user_id or open_id'}` };
}
