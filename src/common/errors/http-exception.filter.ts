import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from './domain-error';
import { toHttpError } from './http-error';

/** Maps every error to `{ code, message, details? }` with the status from toHttpError. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body, headers } = toHttpError(exception);
    if (exception instanceof DomainError) {
      // Expected outcomes (a vendor that did not answer, a channel not configured): one line, no stack.
      if (status >= 500) this.logger.warn(`${exception.code}: ${exception.message}`);
    } else if (status >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (response.headersSent) return;
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.status(status).json(body);
  }
}
