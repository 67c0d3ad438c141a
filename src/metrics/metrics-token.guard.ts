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

/**
 * Whether an Authorization header carries METRICS_TOKEN. False when none is configured. Digests have one
 * length, so the comparison takes the same time whatever was sent.
 */
export function holdsMetricsToken(config: AppConfig, authorization: string | undefined): boolean {
  const expected = config.metrics.token;
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  return !!expected && !!match && timingSafeEqual(digest(match[1]), digest(expected));
}

/** Open when METRICS_TOKEN is empty (scraped on the internal network); else `Authorization: Bearer <token>`. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.config.metrics.token) return true;
    const { authorization } = context.switchToHttp().getRequest<Request>().headers;
    if (!holdsMetricsToken(this.config, authorization)) throw new MetricsUnauthenticated();
    return true;
  }
}
