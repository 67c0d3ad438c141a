import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Clock } from '../../common/clock';
import { AppConfig } from '../../config/app-config';
import type { PartnerConfig } from '../../config/environment';
import { SIGNATURE_HEADER, signatureHeader } from '../payment-event';
import { type AddressPolicy, whyAddressRefused } from './address-policy';

/** The headers of a webhook POST besides the signature (docs/webhooks.md). */
export const WEBHOOK_EVENT_ID_HEADER = 'x-pc-event-id';
export const WEBHOOK_EVENT_TYPE_HEADER = 'x-pc-event-type';
export const WEBHOOK_USER_AGENT = 'PaymentCenter-Webhooks/1';

/** How much of a partner's answer is read (kept, cut, as the delivery's last error); the rest is never read. */
export const RESPONSE_BODY_LIMIT = 4096;

/** What one POST came to: delivered (2xx), or why not, in words an operator can act on. */
export type WebhookOutcome =
  { delivered: true; status: number } | { delivered: false; reason: string; status?: number };

/** The headers of a webhook POST of `event` (its `body` as sent), signed for `partner` at `timestamp` (unix s). */
export function webhookHeaders(
  partner: { keyId: string; secret: string },
  event: WebhookEvent,
  body: Buffer,
  timestamp: number,
): Record<string, string | number> {
  return {
    'content-type': 'application/json',
    'content-length': body.length,
    'user-agent': WEBHOOK_USER_AGENT,
    [SIGNATURE_HEADER]: signatureHeader(timestamp, body, [partner]),
    [WEBHOOK_EVENT_ID_HEADER]: event.eventId,
    [WEBHOOK_EVENT_TYPE_HEADER]: event.type,
    'idempotency-key': event.eventId,
  };
}

/** What a webhook POST carries of an event. */
export interface WebhookEvent {
  eventId: string;
  type: string;
  body: string;
}

/**
 * One signed POST of an event to a webhook partner, and nothing more: no retry here (the dispatcher schedules
 * them), no redirect followed (a 3xx is a failure naming where it pointed), at most RESPONSE_BODY_LIMIT bytes of
 * the answer read, the whole exchange bounded by WEBHOOK_TIMEOUT_MS. Every connection goes through the address
 * policy's lookup, so the address checked is the address connected to.
 *
 * The body is the event exactly as the queue carries it, signed the same way (x-pc-signature, timestamp
 * included, the partner's current key), so one verifier serves both transports. Each partner has its own
 * keep-alive agent, at most WEBHOOK_CONCURRENCY sockets.
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly agents = new Map<string, HttpAgent>();

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  post(partner: PartnerConfig & { url: string }, event: WebhookEvent): Promise<WebhookOutcome> {
    const url = new URL(partner.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const policy = this.config.webhooks.addresses;
    // A literal address is connected to without a lookup: check it here (PARTNERS was checked at boot too).
    const refusedLiteral = isIP(host) !== 0 ? whyAddressRefused(host, policy) : undefined;
    if (refusedLiteral) return Promise.resolve({ delivered: false, reason: `refused: ${refusedLiteral}` });
    const body = Buffer.from(event.body);
    const timestamp = Math.floor(this.clock.now().getTime() / 1000);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<WebhookOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: WebhookOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(outcome);
      };
      const request = send(url, {
        method: 'POST',
        agent: this.agentFor(partner, url.protocol),
        lookup: guardedLookup(policy),
        headers: webhookHeaders(partner, event, body, timestamp),
      });
      const deadline = setTimeout(() => {
        request.destroy(new Error(`no complete answer within ${this.config.webhooks.timeoutMs} ms`));
      }, this.config.webhooks.timeoutMs);
      request.on('error', (error) => finish({ delivered: false, reason: describe(error) }));
      request.on('response', (response) => {
        readCapped(response).then(
          (text) => finish(outcomeOf(response, text)),
          (error: Error) => finish({ delivered: false, reason: describe(error), status: response.statusCode }),
        );
      });
      request.end(body);
    });
  }

  private agentFor(partner: PartnerConfig, protocol: string): HttpAgent {
    const key = `${partner.name}\n${protocol}`;
    let agent = this.agents.get(key);
    if (!agent) {
      // As many idle sockets kept as may be busy: between two POSTs a slot's socket waits idle while the dispatcher
      // marks and claims, and an agent keeping fewer would close it and open a new connection for the next POST.
      const sockets = this.config.webhooks.concurrency;
      const options = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets };
      agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  onApplicationShutdown(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

function outcomeOf(response: IncomingMessage, text: string): WebhookOutcome {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return { delivered: true, status };
  if (status >= 300 && status < 400) {
    const location = String(response.headers.location ?? '').slice(0, 200);
    return {
      delivered: false,
      status,
      reason: `HTTP ${status} redirect to ${location || '(no Location)'}, not followed`,
    };
  }
  const said = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  return { delivered: false, status, reason: `HTTP ${status}${said ? `: ${said}` : ''}` };
}

/**
 * Reads at most RESPONSE_BODY_LIMIT bytes of the answer, then stops: the socket is then destroyed rather than
 * reused (the rest of a large answer is never read, and a slow one cannot hold the send past its deadline).
 */
function readCapped(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size >= RESPONSE_BODY_LIMIT) return;
      chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - size));
      size += chunk.length;
      if (size >= RESPONSE_BODY_LIMIT) {
        resolve(Buffer.concat(chunks).toString('utf8'));
        response.destroy();
      }
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('the answer was cut off')));
  });
}

function describe(error: Error & { code?: string }): string {
  const code = error.code && !error.message.includes(error.code) ? ` (${error.code})` : '';
  return `${error.message}${code}`.slice(0, 400);
}

/**
 * A lookup that resolves as usual, then drops the addresses the policy refuses: the socket connects only to
 * an address that passed. A name that resolves only to refused ones fails the send, naming the address.
 */
export function guardedLookup(policy: AddressPolicy, resolve = dnsLookup): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = addresses.filter((a) => whyAddressRefused(a.address, policy) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0];
        const reason = first ? `${first.address}: ${whyAddressRefused(first.address, policy)}` : 'no address';
        return callback(
          Object.assign(new Error(`refused: ${hostname} resolves to ${reason}`), { code: 'EADDRREFUSED' }),
          '',
          0,
        );
      }
      if (options.all) return (callback as unknown as AllCallback)(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;
type AllCallback = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
