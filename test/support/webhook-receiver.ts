import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scripted receiver does with one request. */
export type ReceiverAnswer = { status: number; body?: string; delayMs?: number; location?: string } | 'hang';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A real local HTTP server standing in for a partner's webhook endpoint: records every request, answers as the
 * test scripts it (a status, after a delay, a redirect, or never), 200 by default.
 */
export class ScriptedReceiver {
  readonly requests: ReceivedRequest[] = [];
  private answer: (request: ReceivedRequest, index: number) => ReceiverAnswer = () => ({ status: 200 });
  private readonly hanging = new Set<ServerResponse>();
  private inFlight = 0;
  /** The most requests this receiver was answering at once. */
  maxInFlight = 0;
  private server?: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  script(answer: (request: ReceivedRequest, index: number) => ReceiverAnswer): void {
    this.answer = answer;
  }

  /** Requests for one event (by the x-pc-event-id header). */
  sendsOf(eventId: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.headers['x-pc-event-id'] === eventId);
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: ReceivedRequest = {
          at: Date.now(),
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks),
        };
        this.requests.push(received);
        const answer = this.answer(received, this.requests.length - 1);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        response.on('close', () => {
          this.inFlight -= 1;
          this.hanging.delete(response);
        });
        if (answer === 'hang') {
          this.hanging.add(response);
          return;
        }
        setTimeout(() => {
          response.writeHead(answer.status, {
            'content-type': 'text/plain',
            ...(answer.location ? { location: answer.location } : {}),
          });
          response.end(answer.body ?? '');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
