import {
  applyDecorators,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Clock } from '../common/clock';
import { SkipIdempotency } from '../idempotency/idempotency-context';
import { ADMIN_BEARER, TAGS } from '../common/openapi/api-decorators';
import { ApiErrors } from '../common/openapi/api-errors';
import { AppConfig } from '../config/app-config';
import { AdminAuthGuard, type AdminRequest, findAdminToken } from './auth/admin-auth.guard';
import { AdminAuditLog } from './auth/admin-audit-log';
import { AdminSessionResponse } from './admin-payments.dto';
import { BOARD_SCOPE } from './queue-board';
import { BOARD_SESSION_MS, boardCookie, boardCookieSecure, issueBoardSession } from './board-session';

/** Any valid admin token, whatever its scopes. */
const ApiAnyAdminToken = () => applyDecorators(ApiBearerAuth(ADMIN_BEARER), ApiErrors('UNAUTHENTICATED'));

/**
 * The console's sign-in: which token this is (its name and scopes), and the queue board's cookie. The
 * token itself stays in the console tab's sessionStorage and goes out as a bearer header.
 */
@ApiTags(TAGS.session)
@Controller('api/admin/session')
@UseGuards(AdminAuthGuard)
export class AdminSessionController {
  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(AdminAuditLog) private readonly audit: AdminAuditLog,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Who this token is: its name and scopes' })
  @ApiOkResponse({ type: AdminSessionResponse })
  @ApiAnyAdminToken()
  whoAmI(@Req() request: AdminRequest): AdminSessionResponse {
    const token = this.tokenOf(request);
    return { name: token.name, scopes: token.scopes };
  }

  @Post()
  @HttpCode(HttpStatus.OK)
  @SkipIdempotency() // every sign-in gets its own cookie; a replayed body would come without it
  @ApiOperation({
    summary: 'Sign in to the console',
    description: `With \`${BOARD_SCOPE}\`, sets the queue board's session cookie (HttpOnly, SameSite=Strict, path /admin/queues, 15 minutes).`,
  })
  @ApiOkResponse({ type: AdminSessionResponse })
  @ApiAnyAdminToken()
  async signIn(@Req() request: AdminRequest, @Res({ passthrough: true }) response: Response) {
    const token = this.tokenOf(request);
    let queueBoardUntil: string | null = null;
    if (token.scopes.includes(BOARD_SCOPE)) {
      const session = issueBoardSession(token, this.clock.now());
      response.setHeader('Set-Cookie', boardCookie(session.value, BOARD_SESSION_MS, this.secure(request)));
      queueBoardUntil = session.expiresAt.toISOString();
    }
    await this.audit.record(token.name, 'console.sign_in', { queueBoard: queueBoardUntil !== null }, 0);
    return { name: token.name, scopes: token.scopes, queueBoardUntil };
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @SkipIdempotency()
  @ApiOperation({ summary: "Sign out: ends the queue board's session cookie" })
  @ApiNoContentResponse()
  @ApiAnyAdminToken()
  async signOut(@Req() request: AdminRequest, @Res({ passthrough: true }) response: Response): Promise<void> {
    response.setHeader('Set-Cookie', boardCookie('', 0, this.secure(request)));
    await this.audit.record(this.tokenOf(request).name, 'console.sign_out', {}, 0);
  }

  private secure(request: AdminRequest): boolean {
    return boardCookieSecure(this.config.production, request);
  }

  /** The guard let the bearer token in; this is its configuration (name and scopes as configured now). */
  private tokenOf(request: AdminRequest) {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    const token = bearer && findAdminToken(this.config.adminTokens, bearer[1]);
    if (!token) throw new Error('AdminAuthGuard must run before this handler');
    return token;
  }
}
