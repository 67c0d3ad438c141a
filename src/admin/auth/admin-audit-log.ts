import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../../common/clock';
import { AdminAudit } from './admin-audit.entity';

/**
 * Who did what from the admin console or API, to what, and how many things it changed (`admin_audit`).
 * Pass the action's transaction manager so the row commits or rolls back with what it records: an action
 * whose transaction failed leaves no row, and an action that committed is never missing one.
 */
@Injectable()
export class AdminAuditLog {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /** With `manager`, the row commits or rolls back with the action it records. */
  async record(
    actor: string,
    action: string,
    target: object,
    affected: number,
    manager?: EntityManager,
  ): Promise<void> {
    await (manager ?? this.dataSource.manager).getRepository(AdminAudit).insert({
      actor: actor.slice(0, 64),
      action,
      target: JSON.stringify(target),
      affected,
      createdAt: this.clock.now(),
    });
  }
}
