import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { Notifications1764100000000 } from './1764100000000-notifications';
import { Recovery1764200000000 } from './1764200000000-recovery';
import { Reconciliation1764300000000 } from './1764300000000-reconciliation';
import { PaymentsByStatus1764410000000 } from './1764410000000-payments-by-status';
import { PaymentsStatusChannel1764420000000 } from './1764420000000-payments-status-channel';
import { OrderIdempotencyKey1764500000000 } from './1764500000000-order-idempotency-key';
import { Applications1764600000000 } from './1764600000000-applications';
import { NotificationIntake1764610000000 } from './1764610000000-notification-intake';
import { ChannelAccounts1764700000000 } from './1764700000000-channel-accounts';
import { RefundReview1764800000000 } from './1764800000000-refund-review';
import { OrderEventSequence1764900000000 } from './1764900000000-order-event-sequence';
import { BarcodePayments1765000000000 } from './1765000000000-barcode-payments';
import { PayWays1765100000000 } from './1765100000000-pay-ways';
import { CheckoutCodes1765200000000 } from './1765200000000-checkout-codes';
import { PaymentPayers1765300000000 } from './1765300000000-payment-payers';
import { WebhooksAndEventFeed1765400000000 } from './1765400000000-webhooks-and-event-feed';

/** Every migration, in order. Listed explicitly so the app, the CLI and the tests load the same set. */
export const migrations = [
  InitialSchema1764000000000,
  Notifications1764100000000,
  Recovery1764200000000,
  Reconciliation1764300000000,
  PaymentsByStatus1764410000000,
  PaymentsStatusChannel1764420000000,
  OrderIdempotencyKey1764500000000,
  Applications1764600000000,
  NotificationIntake1764610000000,
  ChannelAccounts1764700000000,
  RefundReview1764800000000,
  OrderEventSequence1764900000000,
  BarcodePayments1765000000000,
  PayWays1765100000000,
  CheckoutCodes1765200000000,
  PaymentPayers1765300000000,
  WebhooksAndEventFeed1765400000000,
];
