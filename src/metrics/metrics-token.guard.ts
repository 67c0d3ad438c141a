import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';

export class MetricsUnauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor() {
    super('GET /metrics needs the METRICS_TOKEN bearer token.');
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Open when METRICS_TOKEN is empty (scraped on the internal network); else `Authorization: Bearer <token>`. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.metrics.token;
    if (!expected) return true;
    const match = /^Bearer (\S+)$/.exec(context.switchToHttp().getRequest<Request>().headers.authorization ?? '');
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (!match || !timingSafeEqual(digest(match[1]), digest(expected))) throw new MetricsUnauthenticated();
    return true;
  }
}
