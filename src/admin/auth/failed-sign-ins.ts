import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Clock } from '../../common/clock';
import type { MetricsService } from '../../metrics/metrics.service';
import { AdminAudit } from './admin-audit.entity';

/** Why an admin credential was refused (never the credential itself). */
export type SignInFailure = 'unknown_token' | 'malformed_header';

/** One audit row per source address per window (from its first row): a guessing script cannot fill the table. */
export const FAILED_SIGN_IN_WINDOW_MS = 60_000;
/** And at most this many rows per window from all addresses together (an attacker with many addresses). */
export const FAILED_SIGN_IN_ROWS_PER_WINDOW = 100;

/**
 * Audits refused admin credentials (a wrong bearer token at the console's sign-in, the admin API or the
 * queue board) as `admin.sign_in.failed` rows: the source address (as TRUST_PROXY lets Express read it),
 * method, path, reason and user agent, never what was presented. Every refusal is counted in
 * payment_center_admin_auth_failures_total; rows are bounded by Redis counters shared by all instances.
 * Written after the 401 is decided and never awaited by it: an attacker gains no time from a slow write,
 * and a Redis or database outage does not turn a 401 into a 500.
 */
export class FailedSignIns {
  private readonly logger = new Logger(FailedSignIns.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  note(request: Request, reason: SignInFailure): void {
    this.metrics.adminAuthFailed(reason);
    void this.record(request, reason).catch((error: unknown) =>
      this.logger.warn(`failed admin sign-in not audited: ${(error as Error).message}`),
    );
  }

  private async record(request: Request, reason: SignInFailure): Promise<void> {
    const ip = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    // Per address: a row, then none for a whole window from that address's first row (Redis's clock).
    const fresh = await this.redis.set(`admin-sign-in-failed:${ip}`, '1', 'PX', FAILED_SIGN_IN_WINDOW_MS, 'NX');
    if (fresh !== 'OK') return;
    const window = Math.floor(this.clock.now().getTime() / FAILED_SIGN_IN_WINDOW_MS);
    if (!(await this.withinLimit(`admin-sign-in-failed:*:${window}`, FAILED_SIGN_IN_ROWS_PER_WINDOW))) return;
    await this.dataSource.getRepository(AdminAudit).insert({
      actor: 'anonymous',
      action: 'admin.sign_in.failed',
      target: JSON.stringify({
        ip,
        method: request.method,
        path: (request.originalUrl ?? request.url).split('?')[0].slice(0, 200),
        reason,
        userAgent: (request.headers['user-agent'] ?? '').slice(0, 200),
      }),
      affected: 0,
      createdAt: this.clock.now(),
    });
  }

  /** Whether this is one of the first `limit` events counted under `key` (a fixed window's key). */
  private async withinLimit(key: string, limit: number): Promise<boolean> {
    const [[, count]] = (await this.redis
      .multi()
      .incr(key)
      .pexpire(key, FAILED_SIGN_IN_WINDOW_MS * 2)
      .exec()) as [[Error | null, number]];
    return count <= limit;
  }
}
