import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DataSource, type EntityManager, MoreThanOrEqual } from 'typeorm';
import { EntityRows } from '../database/entity-rows';
import type { PayCredential } from '../gateways/gateway.types';
import { Payment, PaymentAttempt, PaymentIntent, PaymentTransition } from './payment.entity';
import { type DueClaim, isClaimable, type OneClaim } from './recovery/recovery-handler';

/** What a state change or a recorded vendor answer may write; everything else about a payment is fixed. */
const MUTABLE: readonly (keyof Payment)[] = [
  'status',
  'gatewayTradeNo',
  'payCredential',
  'gatewayRequestedAt',
  'queryAttempts',
  'nextQueryAt',
  'paidAmountFen',
  'paidAt',
  'closedAt',
  'reversedAt',
  'statusReason',
  'version',
  'updatedAt',
];

/**
 * All SQL on payment tables. Methods named lock* take row locks and need the caller's transaction. The
 * money path's statements are plain SQL, one per step (EntityRows); operators' reads use TypeORM's finders.
 */
@Injectable()
export class PaymentsRepository {
  private readonly paymentRows: EntityRows<Payment>;
  private readonly intentRows: EntityRows<PaymentIntent>;
  private readonly transitionRows: EntityRows<PaymentTransition>;
  private readonly attemptRows: EntityRows<PaymentAttempt>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.paymentRows = new EntityRows(dataSource, Payment);
    this.intentRows = new EntityRows(dataSource, PaymentIntent);
    this.transitionRows = new EntityRows(dataSource, PaymentTransition);
    this.attemptRows = new EntityRows(dataSource, PaymentAttempt);
  }

  /**
   * Records the order's intent if it is new, in its own autocommitted statement: the start transaction then
   * only ever locks an existing row (a record lock, no gap locks that deadlock concurrent first starts).
   */
  async ensureIntent(intent: Omit<PaymentIntent, 'id'>): Promise<void> {
    await this.intentRows.run(
      undefined,
      `INSERT IGNORE INTO payment_intents
         (order_no, application_id, amount_fen, currency, description, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        intent.orderNo,
        intent.applicationId,
        intent.amountFen,
        intent.currency,
        intent.description,
        intent.expiresAt,
        intent.createdAt,
      ],
    );
  }

  /**
   * The application a payment belongs to (its order's, recorded on the intent); `undefined` when there is no
   * such payment, null when it belongs to none (made before applications existed). Never changes: no lock.
   */
  async ownerOf(paymentNo: string): Promise<string | null | undefined> {
    const [row] = await this.paymentRows.run<{ application_id: string | null }[]>(
      undefined,
      `SELECT i.application_id FROM payments p LEFT JOIN payment_intents i ON i.order_no = p.order_no
       WHERE p.payment_no = ?`,
      [paymentNo],
    );
    return row ? row.application_id : undefined;
  }

  async lockIntent(manager: EntityManager, orderNo: string): Promise<PaymentIntent> {
    const intent = await this.intentRows.selectOne(manager, 'order_no = ?', [orderNo], 'FOR UPDATE');
    if (!intent) throw new Error(`order ${orderNo} has no payment intent`);
    return intent;
  }

  /** The intent row lock, when the order has one (payments made outside the start use case may not). */
  async lockIntentIfAny(manager: EntityManager, orderNo: string): Promise<void> {
    await this.intentRows.run(manager, 'SELECT id FROM payment_intents WHERE order_no = ? FOR UPDATE', [orderNo]);
  }

  /** A payment's order number (it never changes, so no lock is needed to read it). */
  async orderNoOf(manager: EntityManager, paymentNo: string): Promise<string | undefined> {
    const [row] = await this.paymentRows.run<{ order_no: string }[]>(
      manager,
      'SELECT order_no FROM payments WHERE payment_no = ?',
      [paymentNo],
    );
    return row?.order_no;
  }

  lockByPaymentNo(manager: EntityManager, paymentNo: string): Promise<Payment | null> {
    return this.paymentRows.selectOne(manager, 'payment_no = ?', [paymentNo], 'FOR UPDATE');
  }

  findByOrderNo(manager: EntityManager | undefined, orderNo: string): Promise<Payment[]> {
    return this.paymentRows.select(manager, 'order_no = ?', [orderNo], 'ORDER BY id ASC');
  }

  /**
   * The order's payments as last committed, for decisions made under the intent lock. FOR UPDATE, not a
   * shared lock: a locking read sees what committed while this transaction waited for the intent lock.
   */
  readOrderPaymentsLocked(manager: EntityManager, orderNo: string): Promise<Payment[]> {
    return this.paymentRows.select(manager, 'order_no = ?', [orderNo], 'FOR UPDATE');
  }

  findByGatewayTradeNo(
    manager: EntityManager,
    channel: Payment['channel'],
    gatewayTradeNo: string,
  ): Promise<Payment | null> {
    return this.paymentRows.selectOne(manager, 'channel = ? AND gateway_trade_no = ?', [channel, gatewayTradeNo]);
  }

  /** The newest-changed payments in a status (ix_payments_status_updated), for operators. */
  findByStatus(status: Payment['status'], limit: number, channel?: Payment['channel']): Promise<Payment[]> {
    return this.dataSource.getRepository(Payment).find({
      where: channel ? { status, channel } : { status },
      order: { updatedAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }

  /** The payments of `channel` among `paymentNos` (statement reconciliation: what the lines name). */
  async findByPaymentNos(
    channel: Payment['channel'],
    accountId: string,
    paymentNos: readonly string[],
  ): Promise<Payment[]> {
    if (paymentNos.length === 0) return [];
    const where = 'payment_no IN (?) AND channel = ? AND account_id = ?';
    return this.paymentRows.select(undefined, where, [paymentNos, channel, accountId]);
  }

  /** The payments of an account paid in [start, end) and PAID now (statement reconciliation's day). */
  /**
   * The payments paid that day, as a statement must show them. A barcode trade the vendor reversed is not a
   * sale there (its money went back within the trade), so it is not expected in the statement.
   */
  paidBetween(channel: Payment['channel'], accountId: string, start: Date, end: Date): Promise<Payment[]> {
    const where =
      "channel = ? AND paid_at >= ? AND paid_at < ? AND status = 'PAID' AND account_id = ? AND reversed_at IS NULL";
    return this.paymentRows.select(undefined, where, [channel, start, end, accountId]);
  }

  findByPaymentNo(paymentNo: string): Promise<Payment | null> {
    return this.paymentRows.selectOne(undefined, 'payment_no = ?', [paymentNo]);
  }

  insert(manager: EntityManager, payment: Omit<Payment, 'id'>): Promise<Payment> {
    return this.paymentRows.insert(manager, Object.assign(new Payment(), payment));
  }

  /** Writes a payment read under its row lock: every field that may change, in one statement with no read before it. */
  async save(manager: EntityManager, payment: Payment): Promise<void> {
    await this.paymentRows.update(manager, payment, MUTABLE);
  }

  /**
   * Notes that a vendor call for this payment starts now. The payment was read without its row lock (the
   * intent's lock serialises starts, not state changes), so this is a compare-and-set on what was read:
   * written only while it is still PAYING with no credential and the same call mark. Returns whether it was
   * written; when not, a callback, recovery or expiry changed the payment after that read.
   */
  async markGatewayRequested(manager: EntityManager, payment: Payment, now: Date): Promise<boolean> {
    const result = await this.paymentRows.run<{ affectedRows: number }>(
      manager,
      `UPDATE payments SET gateway_requested_at = ?, updated_at = ?
       WHERE id = ? AND status = 'PAYING' AND pay_credential IS NULL AND gateway_requested_at <=> ?`,
      [now, now, payment.id, payment.gatewayRequestedAt],
    );
    if (result.affectedRows !== 1) return false;
    payment.gatewayRequestedAt = now;
    payment.updatedAt = now;
    return true;
  }

  /**
   * The vendor's answer to "create the trade", as one compare-and-set: written only while the payment is
   * still PAYING (the UPDATE takes the row lock and checks), never over what a callback applied meanwhile.
   * A trade number the payment already has is kept. Returns whether it was written.
   *
   * With `unchanged`, only while the row is still as that copy has it: same version (no status change),
   * same query schedule (recovery has not claimed or asked), same call mark (no other request took the call
   * over) and trade number. Then the row after the statement is that copy with the answer, no read needed.
   */
  async recordCredential(
    paymentNo: string,
    credential: PayCredential,
    gatewayTradeNo: string | null,
    now: Date,
    unchanged?: Pick<Payment, 'version' | 'queryAttempts' | 'nextQueryAt' | 'gatewayRequestedAt' | 'gatewayTradeNo'>,
  ): Promise<boolean> {
    const same = unchanged
      ? ` AND version = ? AND query_attempts = ? AND next_query_at <=> ? AND gateway_requested_at <=> ?
         AND gateway_trade_no <=> ?`
      : '';
    const result = await this.paymentRows.run<{ affectedRows: number }>(
      undefined,
      `UPDATE payments SET pay_credential = ?, gateway_trade_no = COALESCE(gateway_trade_no, ?),
         gateway_requested_at = NULL, status_reason = NULL, updated_at = ?
       WHERE payment_no = ? AND status = 'PAYING'${same}`,
      [
        JSON.stringify(credential),
        gatewayTradeNo,
        now,
        paymentNo,
        ...(unchanged
          ? [
              unchanged.version,
              unchanged.queryAttempts,
              unchanged.nextQueryAt,
              unchanged.gatewayRequestedAt,
              unchanged.gatewayTradeNo,
            ]
          : []),
      ],
    );
    return result.affectedRows === 1;
  }

  async appendTransition(manager: EntityManager, transition: Omit<PaymentTransition, 'id'>): Promise<void> {
    await this.transitionRows.insert(manager, Object.assign(new PaymentTransition(), transition));
  }

  transitionsOf(paymentNo: string): Promise<PaymentTransition[]> {
    return this.dataSource.getRepository(PaymentTransition).find({ where: { paymentNo }, order: { id: 'ASC' } });
  }

  /** One gateway call recovery or an operator made (payment_attempts is append-only). */
  async insertAttempt(manager: EntityManager, attempt: Omit<PaymentAttempt, 'id'>): Promise<void> {
    await this.attemptRows.insertMany(manager, [Object.assign(new PaymentAttempt(), attempt)]);
  }

  countAttempts(manager: EntityManager, paymentNo: string, action: PaymentAttempt['action']): Promise<number> {
    return manager.getRepository(PaymentAttempt).countBy({ paymentNo, action });
  }

  /** The attempts of one action recorded for a payment at or after `since`. */
  countAttemptsSince(paymentNo: string, action: PaymentAttempt['action'], since: Date): Promise<number> {
    return this.dataSource
      .getRepository(PaymentAttempt)
      .countBy({ paymentNo, action, createdAt: MoreThanOrEqual(since) });
  }

  /**
   * Recovery's due-work claim: up to `limit` payments in `statuses` due by `dueBefore`, oldest first, locked
   * FOR UPDATE SKIP LOCKED (rows another worker holds are passed over), then leased: their next query time
   * moves to `leaseUntil`, so once the caller's transaction commits no other claim takes them until then.
   */
  async claimDueSkippingLocked(manager: EntityManager, claim: DueClaim): Promise<Payment[]> {
    // Walk the next-query-time index in order, so only the due range is read and only the rows returned are
    // locked. With the status indexes, MariaDB may pick a plan that reads (and locks) every candidate before
    // sorting (seen at 1M rows in the reconciler bench's EXPLAIN); a second instance would then skip them all.
    const due = await this.paymentRows.selectUsingIndex(
      manager,
      'ix_payments_next_query',
      'next_query_at <= ? AND status IN (?)',
      [claim.dueBefore, claim.statuses, claim.limit],
      'ORDER BY next_query_at ASC LIMIT ? FOR UPDATE SKIP LOCKED',
    );
    if (due.length > 0) {
      const ids = due.map((payment) => payment.id);
      await this.paymentRows.run(manager, 'UPDATE payments SET next_query_at = ? WHERE id IN (?)', [
        claim.leaseUntil,
        ids,
      ]);
    }
    return due;
  }

  /**
   * A claim of one named payment: its row locked FOR UPDATE SKIP LOCKED (a payment another worker holds is
   * left alone), and leased until `leaseUntil` only while it is still at the caller's attempt, in one of
   * `statuses` and due by `dueBefore`. Undefined when it is not (the caller's view is stale, or it is early).
   */
  async claimOneSkippingLocked(
    manager: EntityManager,
    paymentNo: string,
    claim: OneClaim,
  ): Promise<Payment | undefined> {
    const payment = await this.paymentRows.selectOne(manager, 'payment_no = ?', [paymentNo], 'FOR UPDATE SKIP LOCKED');
    if (!payment || !isClaimable(payment, claim)) return undefined;
    await this.setNextQueryAt(manager, payment.id, claim.leaseUntil);
    return payment;
  }

  lockById(manager: EntityManager, id: string): Promise<Payment | null> {
    return this.paymentRows.selectOne(manager, 'id = ?', [id], 'FOR UPDATE');
  }

  /** Moves the next gateway query of a payment whose row lock the caller holds. */
  async setNextQueryAt(manager: EntityManager, id: string, at: Date | null): Promise<void> {
    await this.paymentRows.run(manager, 'UPDATE payments SET next_query_at = ? WHERE id = ?', [at, id]);
  }

  /**
   * Gives a payment its planned next query back, only while it is still `status` with the lease `leasedUntil`
   * that the caller set (a change made meanwhile by a callback or recovery wins).
   */
  async restoreNextQueryAt(
    manager: EntityManager,
    id: string,
    still: { status: Payment['status']; leasedUntil: Date },
    next: Date | null,
  ): Promise<void> {
    await this.paymentRows.run(
      manager,
      'UPDATE payments SET next_query_at = ? WHERE id = ? AND status = ? AND next_query_at = ?',
      [next, id, still.status, still.leasedUntil],
    );
  }

  /** Records an unanswered query and when to ask next, on a payment whose row lock the caller holds. */
  async rescheduleQuery(
    manager: EntityManager,
    id: string,
    change: Pick<Payment, 'queryAttempts' | 'nextQueryAt' | 'statusReason' | 'updatedAt'>,
  ): Promise<void> {
    await this.paymentRows.run(
      manager,
      'UPDATE payments SET query_attempts = ?, next_query_at = ?, status_reason = ?, updated_at = ? WHERE id = ?',
      [change.queryAttempts, change.nextQueryAt, change.statusReason, change.updatedAt, id],
    );
  }

  /** Payments by status and channel (an index-only scan of ix_payments_status_*), for the gauges. */
  async countByStatusAndChannel(): Promise<{ status: string; channel: string; count: number }[]> {
    const rows = await this.paymentRows.run<{ status: string; channel: string; n: string | number }[]>(
      undefined,
      'SELECT status, channel, COUNT(*) AS n FROM payments GROUP BY status, channel',
      [],
    );
    return rows.map((row) => ({ status: row.status, channel: row.channel, count: Number(row.n) }));
  }

  /** When the oldest payment in each of `statuses` was created, by status and channel, for the gauges. */
  oldestCreatedIn(statuses: readonly string[]): Promise<{ status: string; channel: string; oldest: Date }[]> {
    return this.paymentRows.run(
      undefined,
      `SELECT status, channel, MIN(created_at) AS oldest FROM payments WHERE status IN (?) GROUP BY status, channel`,
      [statuses],
    );
  }

  attemptsOf(paymentNo: string): Promise<PaymentAttempt[]> {
    return this.dataSource.getRepository(PaymentAttempt).find({ where: { paymentNo }, order: { id: 'ASC' } });
  }

  /** The gateway calls made about one refund, oldest first. */
  attemptsOfRefund(refundNo: string): Promise<PaymentAttempt[]> {
    return this.dataSource.getRepository(PaymentAttempt).find({ where: { refundNo }, order: { id: 'ASC' } });
  }
}
