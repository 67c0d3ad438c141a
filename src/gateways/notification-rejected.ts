import { DomainError } from '../common/errors/domain-error';

/** A callback that is forged, expired, for another merchant, or unreadable: refused, nothing applied. */
export class NotificationRejected extends DomainError {
  readonly code = 'NOTIFICATION_REJECTED';
  constructor(reason: string) {
    super(reason);
  }
}
