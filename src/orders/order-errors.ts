import { DomainError } from '../common/errors/domain-error';

export class OrderNotFound extends DomainError {
  readonly code = 'ORDER_NOT_FOUND';
  constructor(orderNo: string) {
    super(`Order ${orderNo} does not exist.`);
  }
}

export class OrderAlreadyPaid extends DomainError {
  readonly code = 'ORDER_ALREADY_PAID';
  constructor(orderNo: string) {
    super(`Order ${orderNo} is already paid.`);
  }
}

export class OrderClosed extends DomainError {
  readonly code = 'ORDER_CLOSED';
  constructor(orderNo: string) {
    super(`Order ${orderNo} is closed and can no longer be paid.`);
  }
}

export class OrderExpired extends DomainError {
  readonly code = 'ORDER_EXPIRED';
  constructor(orderNo: string, expiresAt: Date) {
    super(`Order ${orderNo} expired at ${expiresAt.toISOString()} and can no longer be paid.`);
  }
}
