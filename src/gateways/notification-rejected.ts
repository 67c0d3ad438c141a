import { DomainError } from '../common/errors/domain-error';

/**
 * Why a callback was refused, in a few words an operator can act on (it is a metric label, so a fixed set):
 * `signature` forged, or a key or certificate we do not have; `timestamp` outside the vendor's window
 * (clock skew); `merchant` for another merchant or app id; `decryption` the encrypted resource does not open
 * with our key; `malformed` unreadable or missing fields; `unsupported` a kind of notification we do not
 * handle; `not_ours` a trade number we never made.
 */
export type RejectionReason =
  'signature' | 'timestamp' | 'merchant' | 'decryption' | 'malformed' | 'unsupported' | 'not_ours';

/** A callback that is forged, expired, for another merchant, or unreadable: refused, nothing applied. */
export class NotificationRejected extends DomainError {
  readonly code = 'NOTIFICATION_REJECTED';
  constructor(
    message: string,
    readonly reason: RejectionReason,
  ) {
    super(message);
  }
}
