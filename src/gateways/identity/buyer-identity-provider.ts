import type { Channel } from '../gateway.types';

/** What a vendor's OAuth code exchange said. */
export type IdentityResult =
  | { kind: 'identified'; payerId: string }
  /** A definite refusal (a used, expired or forged code; a wrong secret): the buyer must start again. */
  | { kind: 'refused'; code: string; message: string }
  /** No definite answer (timeout, network, 5xx): the same code may be tried again while it lives. */
  | { kind: 'unknown'; reason: string };

/**
 * A vendor's way to learn who pays inside its app (WeChat web OAuth `snsapi_base`, Alipay `auth_base`): the page
 * the buyer's app opens, which comes back to our callback with a one-time code, and the exchange of that code for
 * the buyer's id under `appId` (WeChat openid; Alipay user id or open_id). Silent for the buyer: no consent page.
 */
export interface BuyerIdentityProvider {
  readonly channel: Channel;
  /** The app the learnt ids belong to: in-app payments made with them must be made under it. */
  readonly appId: string;
  /** The vendor's page to send the buyer to; it redirects to `redirectUri` with the code and `state`. */
  authorizeUrl(redirectUri: string, state: string): string;
  /** The code's name in the callback's query (WeChat `code`, Alipay `auth_code`). */
  readonly codeParameter: string;
  exchange(code: string): Promise<IdentityResult>;
}
