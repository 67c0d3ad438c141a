import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { Redis } from 'ioredis';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Clock } from '../../common/clock';
import { DomainError } from '../../common/errors/domain-error';
import { REDIS } from '../../common/redis/redis.module';
import { AppConfig } from '../../config/app-config';
import type { AdminScope, AdminTokenConfig } from '../../config/environment';
import { MetricsService } from '../../metrics/metrics.service';
import { FailedSignIns } from './failed-sign-ins';

export class AdminUnauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor() {
    super('A valid admin bearer token is required.');
  }
}

export class AdminForbidden extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(scope: string) {
    super(`This token lacks the ${scope} scope.`);
  }
}

export const ADMIN_SCOPE = 'payment-center:admin-scope';
export const RequireScope = (scope: AdminScope) => SetMetadata(ADMIN_SCOPE, scope);

/** `user` is the principal the duplicate-submission guard keys by. */
export type AdminRequest = Request & { admin?: { name: string }; user?: { id: string } };

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The configured token equal to `presented`. Compared as SHA-256 digests in constant time, against every
 * configured token, so neither the length nor the position of a match shows in the timing.
 */
export function findAdminToken(tokens: readonly AdminTokenConfig[], presented: string): AdminTokenConfig | undefined {
  const given = digest(presented);
  let found: AdminTokenConfig | undefined;
  for (const candidate of tokens) {
    if (timingSafeEqual(given, digest(candidate.token)) && !found) found = candidate;
  }
  return found;
}

/**
 * Bearer tokens from ADMIN_TOKENS (see findAdminToken), with the scope the handler names. A credential
 * that was sent and refused is audited (FailedSignIns); no Authorization header at all is not a sign-in.
 * Its dependencies are all global: every module whose controllers use it can build it.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly failures: FailedSignIns;

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Reflector) private readonly reflector: Reflector,
    @InjectDataSource() dataSource: DataSource,
    @Inject(REDIS) redis: Redis,
    @Inject(Clock) clock: Clock,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.failures = new FailedSignIns(dataSource, redis, clock, metrics);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const header = request.headers.authorization;
    if (header === undefined) throw new AdminUnauthenticated();
    const match = /^Bearer (\S+)$/.exec(header);
    const found = match ? findAdminToken(this.config.adminTokens, match[1]) : undefined;
    if (!found) {
      this.failures.note(request, match ? 'unknown_token' : 'malformed_header');
      throw new AdminUnauthenticated();
    }
    const scope = this.reflector.get<string | undefined>(ADMIN_SCOPE, context.getHandler());
    if (scope && !found.scopes.includes(scope)) throw new AdminForbidden(scope);
    request.admin = { name: found.name };
    // The duplicate-submission guard keys by caller: one operator's double click, not two operators' clicks.
    request.user = { id: `admin:${found.name}` };
    return true;
  }
}
