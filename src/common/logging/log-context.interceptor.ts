import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { addLogContext, type LogFields } from './log-context';

const NAMED: readonly (keyof LogFields)[] = ['orderNo', 'paymentNo', 'refundNo'];

/** Route parameters that name an order, a payment or a refund go into the request's log context. */
@Injectable()
export class LogContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const params = context.switchToHttp().getRequest<{ params?: Record<string, unknown> }>().params ?? {};
      const fields: LogFields = {};
      for (const name of NAMED) {
        const value = params[name];
        if (typeof value === 'string') fields[name] = value.slice(0, 64);
      }
      addLogContext(fields);
    }
    return next.handle();
  }
}
