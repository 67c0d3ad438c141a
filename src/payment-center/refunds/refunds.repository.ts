import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { newRefundNo } from '../../common/ids';
import type { Fen } from '../../common/money';
import type { Channel } from '../../gateways/gateway.types';
import { EntityRows } from '../../database/entity-rows';
import type { Payment } from '../payment.entity';
import { type DueClaim, isClaimable, type OneClaim } from '../recovery/recovery-handler';
import { Refund, type RefundKind } from './refund.entity';

/** What settling a refund or recording an answer may write; everything else about a refund is fixed. */
const MUTABLE: readonly (keyof Refund)[] = [
  'status',
  'gatewayRefundNo',
  'queryAttempts',
  'nextQueryAt',
  'statusReason',
  'version',
  'refundedAt',
  'retriedAt',
  'updatedAt',
];

/**
 * All SQL on refunds, plain statements (EntityRows) like the payments repository. Methods named lock* and
 * claim* take row locks and need the caller's transaction; every writer of a refund holds its payment's row
 * lock first, then the refund's.
 */
@Injectable()
export class RefundsRepository {
  private readonly rows: EntityRows<Refund>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.rows = new EntityRows(dataSource, Refund);
  }

  /**
   * A new REFUNDING refund of the whole paid amount, in the caller's transaction (which holds the payment's
   * row lock). Its unique auto key makes a second one for the same payment and reason impossible.
   */
  insertAutomatic(
    manager: EntityManager,
    payment: Payment,
    surplus: { kind: RefundKind; reason: string },
    now: Date,
  ): Promise<Refund> {
    return this.insert(manager, payment, {
      amountFen: payment.paidAmountFen ?? payment.amountFen,
      reason: surplus.reason,
      kind: surplus.kind,
      autoKey: `${payment.paymentNo}:${surplus.kind}`,
      nextQueryAt: now, // sent at once after the commit; if that is lost, recovery sends it
      now,
    });
  }

  /**
   * The money a barcode trade's reverse returned (the vendor returned it itself): a refund recorded REFUNDED at
   * once, never sent, unique per payment.
   */
  insertReversal(manager: EntityManager, payment: Payment, reason: string, now: Date): Promise<Refund> {
    return this.insert(manager, payment, {
      amountFen: payment.paidAmountFen ?? payment.amountFen,
      reason,
      kind: 'REVERSAL',
      autoKey: `${payment.paymentNo}:REVERSAL`,
      nextQueryAt: null,
      refundedAt: now,
      now,
    });
  }

  insert(
    manager: EntityManager,
    payment: Payment,
    refund: {
      refundNo?: string;
      amountFen: Fen;
      reason: string;
      kind: RefundKind;
      autoKey: string | null;
      nextQueryAt: Date | null;
      /** Set: the refund is recorded REFUNDED at this time (the vendor returned the money already). */
      refundedAt?: Date;
      now: Date;
    },
  ): Promise<Refund> {
    return this.rows.insert(
      manager,
      Object.assign(new Refund(), {
        refundNo: refund.refundNo ?? newRefundNo(this.clock.now()),
        paymentNo: payment.paymentNo,
        orderNo: payment.orderNo,
        channel: payment.channel,
        accountId: payment.accountId,
        amountFen: refund.amountFen,
        reason: refund.reason.slice(0, 256),
        kind: refund.kind,
        autoKey: refund.autoKey,
        status: refund.refundedAt ? ('REFUNDED' as const) : ('REFUNDING' as const),
        gatewayRefundNo: null,
        queryAttempts: 0,
        nextQueryAt: refund.nextQueryAt,
        statusReason: null,
        version: 1,
        refundedAt: refund.refundedAt ?? null,
        retriedAt: null,
        createdAt: refund.now,
        updatedAt: refund.now,
      }),
    );
  }

  /** Refunded so far (REFUNDED refunds only). */
  refundedFen(manager: EntityManager, paymentNo: string): Promise<Fen> {
    return this.sumFen(manager, "payment_no = ? AND status = 'REFUNDED'", [paymentNo]);
  }

  /** Refunded or on its way back: what a new refund must leave room for. */
  committedFen(manager: EntityManager, paymentNo: string): Promise<Fen> {
    return this.sumFen(manager, "payment_no = ? AND status <> 'REFUND_FAILED'", [paymentNo]);
  }

  lockByRefundNo(manager: EntityManager, refundNo: string): Promise<Refund | null> {
    return this.rows.selectOne(manager, 'refund_no = ?', [refundNo], 'FOR UPDATE');
  }

  /** The refund by id under its row lock (the caller's transaction). */
  lockById(manager: EntityManager, id: string): Promise<Refund | null> {
    return this.rows.selectOne(manager, 'id = ?', [id], 'FOR UPDATE');
  }

  findByRefundNo(refundNo: string, manager?: EntityManager): Promise<Refund | null> {
    return this.rows.selectOne(manager, 'refund_no = ?', [refundNo]);
  }

  /** Refunds in a status, the most recently changed first (the review list). */
  findByStatus(status: Refund['status'], limit: number, channel?: Refund['channel']): Promise<Refund[]> {
    const [where, params] = channel ? ['status = ? AND channel = ?', [status, channel]] : ['status = ?', [status]];
    return this.rows.select(undefined, where, params, `ORDER BY updated_at DESC, id DESC LIMIT ${Number(limit)}`);
  }

  findByPaymentNo(paymentNo: string): Promise<Refund[]> {
    return this.rows.select(undefined, 'payment_no = ?', [paymentNo], 'ORDER BY id ASC');
  }

  /** The refunds of `channel` among `refundNos` (statement reconciliation: what the lines name). */
  async findByRefundNos(channel: Channel, accountId: string, refundNos: readonly string[]): Promise<Refund[]> {
    if (refundNos.length === 0) return [];
    return this.rows.select(undefined, 'refund_no IN (?) AND channel = ? AND account_id = ?', [
      refundNos,
      channel,
      accountId,
    ]);
  }

  /** The refunds of an account that became REFUNDED in [start, end) (statement reconciliation's day). */
  /** The refunds settled that day, as a statement must show them: a REVERSAL is the vendor's reverse, not a refund. */
  refundedBetween(channel: Channel, accountId: string, start: Date, end: Date): Promise<Refund[]> {
    const where =
      "channel = ? AND refunded_at >= ? AND refunded_at < ? AND status = 'REFUNDED' AND account_id = ? AND kind <> 'REVERSAL'";
    return this.rows.select(undefined, where, [channel, start, end, accountId]);
  }

  /** Writes a refund read under its row lock: every field that may change, in one statement. */
  async save(manager: EntityManager, refund: Refund): Promise<void> {
    await this.rows.update(manager, refund, MUTABLE);
  }

  /** Records an unanswered attempt and when to ask next, on a refund whose row lock the caller holds. */
  async rescheduleQuery(
    manager: EntityManager,
    id: string,
    change: Pick<Refund, 'queryAttempts' | 'nextQueryAt' | 'statusReason' | 'gatewayRefundNo' | 'updatedAt'>,
  ): Promise<void> {
    await this.rows.run(
      manager,
      `UPDATE refunds SET query_attempts = ?, next_query_at = ?, status_reason = ?, gateway_refund_no = ?,
         updated_at = ? WHERE id = ?`,
      [change.queryAttempts, change.nextQueryAt, change.statusReason, change.gatewayRefundNo, change.updatedAt, id],
    );
  }

  /**
   * Recovery's due-work claim: up to `limit` refunds in `statuses` due by `dueBefore`, oldest first, locked
   * FOR UPDATE SKIP LOCKED and leased (next query time moved to `leaseUntil`). Settled refunds have no next
   * query time, so the range on ix_refunds_next_query holds the open ones only.
   */
  async claimDueSkippingLocked(manager: EntityManager, claim: DueClaim): Promise<Refund[]> {
    const due = await this.rows.selectUsingIndex(
      manager,
      'ix_refunds_next_query',
      'next_query_at <= ? AND status IN (?)',
      [claim.dueBefore, claim.statuses, claim.limit],
      'ORDER BY next_query_at ASC LIMIT ? FOR UPDATE SKIP LOCKED',
    );
    if (due.length > 0) {
      await this.rows.run(manager, 'UPDATE refunds SET next_query_at = ? WHERE id IN (?)', [
        claim.leaseUntil,
        due.map((refund) => refund.id),
      ]);
    }
    return due;
  }

  /** A claim of one named refund: as the payments repository's (SKIP LOCKED, leased only if still due). */
  async claimOneSkippingLocked(manager: EntityManager, refundNo: string, claim: OneClaim): Promise<Refund | undefined> {
    const refund = await this.rows.selectOne(manager, 'refund_no = ?', [refundNo], 'FOR UPDATE SKIP LOCKED');
    if (!refund || !isClaimable(refund, claim)) return undefined;
    await this.rows.run(manager, 'UPDATE refunds SET next_query_at = ? WHERE id = ?', [claim.leaseUntil, refund.id]);
    return refund;
  }

  /**
   * When the oldest open (REFUNDING) refund was created, by channel, for the gauges. Settled refunds have no
   * next query time: the range on ix_refunds_next_query holds the open ones only.
   */
  oldestOpenByChannel(): Promise<{ channel: string; oldest: Date }[]> {
    return this.rows.run(
      undefined,
      `SELECT channel, MIN(created_at) AS oldest FROM refunds
        WHERE next_query_at IS NOT NULL AND status = 'REFUNDING' GROUP BY channel`,
      [],
    );
  }

  private async sumFen(manager: EntityManager, where: string, parameters: unknown[]): Promise<Fen> {
    const [row] = await this.rows.run<{ total: string | number }[]>(
      manager,
      `SELECT COALESCE(SUM(amount_fen), 0) AS total FROM refunds WHERE ${where}`,
      parameters,
    );
    return Number(row?.total ?? 0);
  }
}
