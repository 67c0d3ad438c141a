import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations';
import { ApiKey, Application } from '../applications/application.entity';
import { IdempotencyRecord } from '../common/idempotency/idempotency-record.entity';
import { AdminAudit, EventDelivery, OutboxEvent } from '../notifications/outbox.entity';
import { ProcessedEvent } from '../orders/processed-event.entity';
import { Order, OrderItem } from '../orders/order.entity';
import { AppliedNotification, OrphanNotification } from '../payment-center/intake/intake.entity';
import { Payment, PaymentAttempt, PaymentIntent, PaymentTransition } from '../payment-center/payment.entity';
import { Refund } from '../payment-center/refunds/refund.entity';
import { ReconciliationDifference, ReconciliationRun } from '../reconciliation/reconciliation.entity';

export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  name: string;
  poolSize: number;
  migrateOnStart: boolean;
}

export const ENTITIES = [
  Order,
  OrderItem,
  ProcessedEvent,
  Payment,
  PaymentIntent,
  PaymentTransition,
  PaymentAttempt,
  Refund,
  AppliedNotification,
  OrphanNotification,
  ReconciliationRun,
  ReconciliationDifference,
  IdempotencyRecord,
  OutboxEvent,
  EventDelivery,
  AdminAudit,
  Application,
  ApiKey,
];

/** One definition used by the app, the migration CLI and the tests. `synchronize` is never on. */
export function dataSourceOptions(db: DatabaseSettings): DataSourceOptions {
  return {
    type: 'mysql',
    host: db.host,
    port: db.port,
    username: db.user,
    password: db.password,
    database: db.name,
    entities: ENTITIES,
    migrations,
    migrationsRun: db.migrateOnStart,
    migrationsTransactionMode: 'each',
    synchronize: false,
    // Store and read every DATETIME as UTC, whatever the server's time zone.
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
    poolSize: db.poolSize,
    // trace: false — mysql2's promise API otherwise captures a stack trace on every statement, a cost paid on
    // every query of the money path; a database error's stack then starts in mysql2, and our logs name the step.
    extra: { connectionLimit: db.poolSize, waitForConnections: true, connectTimeout: 5000, trace: false },
  };
}
