import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { newRefundNo } from '../../common/ids';
import type { Fen } from '../../common/money';
import type { Payment } from '../payment.entity';
import { Refund, type RefundKind } from './refund.entity';

/** All SQL on refunds. Methods named lock* take row locks and need the caller's transaction. */
@Injectable()
export class RefundsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

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

  insert(
    manager: EntityManager,
    payment: Payment,
    refund: {
      refundNo?: string;
      amountFen: Fen;
      reason: string;
      kind: RefundKind;
      autoKey: string | null;
      nextQueryAt: Date;
      now: Date;
    },
  ): Promise<Refund> {
    const repository = manager.getRepository(Refund);
    return repository.save(
      repository.create({
        refundNo: refund.refundNo ?? newRefundNo(this.clock.now()),
        paymentNo: payment.paymentNo,
        orderNo: payment.orderNo,
        channel: payment.channel,
        amountFen: refund.amountFen,
        reason: refund.reason.slice(0, 256),
        kind: refund.kind,
        autoKey: refund.autoKey,
        status: 'REFUNDING',
        gatewayRefundNo: null,
        queryAttempts: 0,
        nextQueryAt: refund.nextQueryAt,
        statusReason: null,
        version: 1,
        refundedAt: null,
        createdAt: refund.now,
        updatedAt: refund.now,
      }),
    );
  }

  /** Refunded so far (REFUNDED refunds only). */
  async refundedFen(manager: EntityManager, paymentNo: string): Promise<Fen> {
    const row = await manager
      .getRepository(Refund)
      .createQueryBuilder('r')
      .select('COALESCE(SUM(r.amountFen), 0)', 'total')
      .where('r.paymentNo = :paymentNo AND r.status = :status', { paymentNo, status: 'REFUNDED' })
      .getRawOne<{ total: string }>();
    return Number(row?.total ?? 0);
  }

  /** Refunded or on its way back: what a new refund must leave room for. */
  async committedFen(manager: EntityManager, paymentNo: string): Promise<Fen> {
    const row = await manager
      .getRepository(Refund)
      .createQueryBuilder('r')
      .select('COALESCE(SUM(r.amountFen), 0)', 'total')
      .where('r.paymentNo = :paymentNo AND r.status <> :failed', { paymentNo, failed: 'REFUND_FAILED' })
      .getRawOne<{ total: string }>();
    return Number(row?.total ?? 0);
  }

  lockByRefundNo(manager: EntityManager, refundNo: string): Promise<Refund | null> {
    return manager
      .getRepository(Refund)
      .createQueryBuilder('r')
      .setLock('pessimistic_write')
      .where('r.refundNo = :refundNo', { refundNo })
      .getOne();
  }

  findByRefundNo(refundNo: string, manager?: EntityManager): Promise<Refund | null> {
    return (manager ?? this.dataSource.manager).getRepository(Refund).findOneBy({ refundNo });
  }

  findByPaymentNo(paymentNo: string): Promise<Refund[]> {
    return this.dataSource.getRepository(Refund).find({ where: { paymentNo }, order: { id: 'ASC' } });
  }

  async save(manager: EntityManager, refund: Refund): Promise<void> {
    await manager.getRepository(Refund).save(refund);
  }
}
