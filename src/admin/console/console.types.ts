import type { DeliveryView } from '../../notifications/deliveries.service';
import type { ResolutionResult, ReviewPaymentView } from '../../payment-center/review/payment-review.service';
import type { RefundResolutionResult, ReviewRefundView } from '../../payment-center/review/refund-review.service';
import type { ApiKeyView, ApplicationView } from '../../applications/applications.service';
import type { RunView } from '../../reconciliation/reconciliation.service';
import type { AccountView } from '../../gateways/accounts/channel-accounts.service';

/**
 * What the admin API answers, as the console's script (console.js) receives it. The script names these types
 * in JSDoc, so it is checked against the server's own view types and the page and the API cannot drift apart;
 * nothing here exists at run time.
 */

/** A server type as JSON carries it: dates become strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** Who the signed-in token is (`/api/admin/session`). */
export interface Session {
  name: string;
  scopes: string[];
}

export type Payment = Wire<ReviewPaymentView>;
export type Resolution = Wire<ResolutionResult>;
/** A refund with the gateway calls made about it (`/api/admin/refunds`). */
export type Refund = Wire<ReviewRefundView>;
export type RefundResolution = Wire<RefundResolutionResult>;
export type Delivery = Wire<DeliveryView>;
export type Run = Wire<RunView>;
export type Application = Wire<ApplicationView>;
export type Key = Wire<ApiKeyView>;
/** A channel account as the admin API shows it: public settings and the names of its secret fields, never a secret. */
export type Account = Wire<AccountView>;
