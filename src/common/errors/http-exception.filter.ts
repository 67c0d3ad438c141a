import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DomainError } from './domain-error';
import { toHttpError } from './http-error';

/** Maps every error to `{ code, message, details? }` with the status from toHttpError. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const { status, body, headers } = toHttpError(exception);
    if (exception instanceof DomainError) {
      // Expected outcomes (a vendor that did not answer, a channel not configured): one line, no stack.
      if (status >= 500) this.logger.warn(`${exception.code}: ${exception.message}`);
    } else if (status >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    // Through the HTTP platform's adapter: Express's response and Fastify's reply alike.
    const http = this.adapterHost.httpAdapter;
    if (http.isHeadersSent(response)) return;
    for (const [name, value] of Object.entries(headers)) http.setHeader(response, name, value);
    http.reply(response, body, status);
  }
}
