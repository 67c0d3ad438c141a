import { AsyncLocalStorage } from 'node:async_hooks';

/** What a log line on the money path names, whatever code writes it. */
export interface LogFields {
  /** The HTTP request being handled (X-Request-Id); set first, so it leads every line of the request. */
  reqId?: string;
  orderNo?: string;
  paymentNo?: string;
  refundNo?: string;
  eventId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` with these fields on every log line it writes, including lines written deep inside
 * services that know nothing of them (pino's mixin reads them). Nested contexts inherit the outer fields.
 */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, work);
}

/**
 * Adds fields to the current context, once they are known (the payment number after the payment is
 * created). Outside any context it does nothing: entry points (HTTP requests, jobs, consumers) open one.
 */
export function addLogContext(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

export function currentLogContext(): LogFields {
  return { ...storage.getStore() };
}

/** Runs `work` outside any context: timers and callbacks it sets up write lines that name no request. */
export function outsideLogContext<T>(work: () => T): T {
  return storage.exit(work);
}
