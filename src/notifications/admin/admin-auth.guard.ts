import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../common/errors/domain-error';
import { AppConfig } from '../../config/app-config';
import type { AdminScope } from '../../config/environment';

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

export type AdminRequest = Request & { admin?: { name: string } };

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Bearer tokens from ADMIN_TOKENS. Tokens are compared as SHA-256 digests in constant time, against every
 * configured token, so neither the length nor the position of a match shows in the timing.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (!match) throw new AdminUnauthenticated();
    const given = digest(match[1]);
    let found: (typeof this.config.adminTokens)[number] | undefined;
    for (const candidate of this.config.adminTokens) {
      if (timingSafeEqual(given, digest(candidate.token)) && !found) found = candidate;
    }
    if (!found) throw new AdminUnauthenticated();
    const scope = this.reflector.get<string | undefined>(ADMIN_SCOPE, context.getHandler());
    if (scope && !found.scopes.includes(scope)) throw new AdminForbidden(scope);
    request.admin = { name: found.name };
    return true;
  }
}
