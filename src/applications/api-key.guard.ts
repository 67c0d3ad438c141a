import {
  applyDecorators,
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiExtension } from '@nestjs/swagger';
import type { IncomingHttpHeaders } from 'node:http';
import { API_KEY_BEARER, REQUIRED_SCOPE_EXTENSION } from '../common/openapi/api-decorators';
import { ApiKeyErrors } from '../common/openapi/api-errors';
import { ApiKeyAuthenticator, type Caller } from './api-key.authenticator';
import type { ApiScope } from './api-key-secret';

const API_SCOPE = 'payment-center:api-scope';

/** Express's request or Fastify's (both carry Node's headers). `user` is the principal the duplicate-submission guard keys by (one namespace per application). */
type CallerRequest = { headers: IncomingHttpHeaders; caller?: Caller; user?: { id: string } };

/** Business endpoints: an application's API key with the scope the handler names (see RequireApiKey). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(ApiKeyAuthenticator) private readonly authenticator: ApiKeyAuthenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.get<ApiScope | undefined>(API_SCOPE, context.getHandler());
    if (!scope) throw new Error(`${context.getClass().name}.${context.getHandler().name} names no API scope`);
    const request = context.switchToHttp().getRequest<CallerRequest>();
    const caller = await this.authenticator.authenticate(request.headers.authorization, scope);
    request.caller = caller;
    request.user = { id: `app:${caller.applicationId}` };
    return true;
  }
}

/**
 * A business operation: it needs an application's API key with `scope`, and the OpenAPI document says so
 * (security scheme, the scope in `x-required-scope`, the 401 and 403 answers).
 */
export function RequireApiKey(scope: ApiScope): MethodDecorator {
  return applyDecorators(
    SetMetadata(API_SCOPE, scope),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(API_KEY_BEARER),
    ApiExtension(REQUIRED_SCOPE_EXTENSION, scope),
    ApiKeyErrors(scope),
  );
}

/** The id of the application calling (set by ApiKeyGuard; only on RequireApiKey operations). */
export const CallerApp = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const caller = ctx.switchToHttp().getRequest<CallerRequest>().caller;
  if (!caller) throw new Error('CallerApp used on an operation without RequireApiKey');
  return caller.applicationId;
});
