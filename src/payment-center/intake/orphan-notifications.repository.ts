import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DataSource, IsNull } from 'typeorm';
import { Clock } from '../../common/clock';
import type { Fen } from '../../common/money';
import { runSql } from '../../database/sql';
import type { Channel, GatewayResult } from '../../gateways/gateway.types';
import { OrphanNotification } from './intake.entity';

export interface OrphanView {
  id: string;
  channel: Channel;
  paymentNo: string;
  gatewayTradeNo: string | null;
  result: GatewayResult['kind'];
  amountFen: Fen | null;
  rawBody: string;
  timesReceived: number;
  receivedAt: string;
  lastReceivedAt: string;
  linkedAt: string | null;
  linkedDetail: string | null;
}

/** All SQL on orphan_notifications (the payment-center's table). */
@Injectable()
export class OrphanNotificationsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * Stores the orphan once per channel, payment number and vendor trade; a resend only counts. `'new'` the
   * first time.
   */
  async record(orphan: {
    channel: Channel;
    paymentNo: string;
    gatewayTradeNo?: string;
    result: GatewayResult['kind'];
    amountFen?: Fen;
    rawBody: string;
  }): Promise<'new' | 'again'> {
    const now = this.clock.now();
    const result = await runSql<{ affectedRows: number }>(
      this.dataSource,
      undefined,
      `INSERT INTO orphan_notifications
         (channel, payment_no, gateway_trade_no, result, amount_fen, raw_body, received_at, last_received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE times_received = times_received + 1, last_received_at = VALUES(last_received_at)`,
      [
        orphan.channel,
        orphan.paymentNo,
        orphan.gatewayTradeNo ?? '',
        orphan.result,
        orphan.amountFen ?? null,
        orphan.rawBody,
        now,
        now,
      ],
    );
    // MariaDB counts 1 for a new row, 2 for an updated one.
    return result.affectedRows === 1 ? 'new' : 'again';
  }

  /**
   * A statement line of the vendor names this trade: the orphan of it (if one was kept) is marked linked,
   * once. Its id, or undefined when the vendor never notified that trade.
   */
  async link(
    channel: Channel,
    paymentNo: string,
    gatewayTradeNo: string,
    statement: { runId: string; billDate: string },
  ): Promise<string | undefined> {
    const orphans = this.dataSource.getRepository(OrphanNotification);
    const orphan = await orphans.findOneBy({ channel, paymentNo, gatewayTradeNo });
    if (!orphan) return undefined;
    if (!orphan.linkedAt) {
      await orphans.update(
        { id: orphan.id, linkedAt: IsNull() },
        {
          linkedAt: this.clock.now(),
          linkedDetail: `statement of ${statement.billDate}, reconciliation run ${statement.runId}`,
        },
      );
    }
    return orphan.id;
  }

  /** Newest first; `linked: false` for those no statement has matched yet. */
  async list(filter: { channel?: Channel; linked?: boolean; limit: number }): Promise<OrphanView[]> {
    const query = this.dataSource
      .getRepository(OrphanNotification)
      .createQueryBuilder('o')
      .orderBy('o.id', 'DESC')
      .limit(filter.limit);
    if (filter.channel) query.andWhere('o.channel = :channel', { channel: filter.channel });
    if (filter.linked !== undefined) query.andWhere(filter.linked ? 'o.linkedAt IS NOT NULL' : 'o.linkedAt IS NULL');
    return (await query.getMany()).map(toOrphanView);
  }
}

function toOrphanView(orphan: OrphanNotification): OrphanView {
  return {
    id: orphan.id,
    channel: orphan.channel,
    paymentNo: orphan.paymentNo,
    gatewayTradeNo: orphan.gatewayTradeNo || null,
    result: orphan.result,
    amountFen: orphan.amountFen,
    rawBody: orphan.rawBody,
    timesReceived: orphan.timesReceived,
    receivedAt: orphan.receivedAt.toISOString(),
    lastReceivedAt: orphan.lastReceivedAt.toISOString(),
    linkedAt: orphan.linkedAt?.toISOString() ?? null,
    linkedDetail: orphan.linkedDetail,
  };
}
