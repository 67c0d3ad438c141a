import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/** Throughput and latency of one measured run. Latencies in milliseconds. */
export interface Figures {
  /** Completed operations (successful ones, for HTTP: 2xx). */
  count: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

function figures(latencies: number[], errors: number, seconds: number): Figures {
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/**
 * Closed loop: `lanes` workers each run `operation` back to back for `seconds`. The same shape as
 * autocannon's connections, for the raw ceilings that have no HTTP.
 */
export async function closedLoop(
  lanes: number,
  seconds: number,
  operation: (lane: number) => Promise<void>,
): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (performance.now() < deadline) {
        const begin = performance.now();
        try {
          await operation(lane);
          latencies.push(performance.now() - begin);
        } catch (error) {
          errors += 1;
          firstError ??= error;
        }
      }
    }),
  );
  if (errors > 0 && latencies.length === 0) throw firstError;
  return figures(latencies, errors, (performance.now() - started) / 1000);
}

/**
 * Open loop at a fixed rate: an operation starts every 1/rate s whatever the earlier ones do, and its
 * latency counts from when it was due (so a stall is not hidden by waiting for it: no coordinated omission).
 */
export async function fixedRate(rate: number, seconds: number, operation: () => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const running: Promise<void>[] = [];
  const started = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    running.push(
      operation().then(
        () => void latencies.push(performance.now() - due),
        () => void (errors += 1),
      ),
    );
  }
  await Promise.all(running);
  return figures(latencies, errors, (performance.now() - started) / 1000);
}

export interface HttpFigures extends Figures {
  non2xx: number;
}

/** One autocannon run: requests per second (2xx only) and its own latency percentiles. */
export async function httpLoad(options: autocannon.Options): Promise<HttpFigures> {
  const result = await autocannon({ timeout: 30, ...options });
  const ok = result['2xx'];
  return {
    count: ok,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    seconds: result.duration,
    perSecond: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** Latencies a caller records itself (e.g. a two-request checkout timed inside autocannon's callbacks). */
export class LatencyRecorder {
  private readonly values: number[] = [];
  failures = 0;

  add(ms: number): void {
    this.values.push(ms);
  }

  figures(seconds: number): Figures {
    return figures([...this.values], this.failures, seconds);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One POST over a kept-alive connection, resolving with the status once the whole answer is read: a
 * lighter client than fetch, with sub-millisecond timing (autocannon reports whole milliseconds).
 */
export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return (await postForAnswer(url, body, headers)).status;
}

/** `post`, keeping the answer's body. */
export function postForAnswer(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Apps (or set-ups) taking turns round after round, which goes first alternating, each turn after a short
 * pause for the previous turn's requests to leave: a machine that speeds up or slows down during the
 * comparison moves them all alike. Answers each one's results, round by round.
 */
export async function takeTurns<T>(count: number, rounds: number, turn: (which: number) => Promise<T>): Promise<T[][]> {
  const results: T[][] = Array.from({ length: count }, () => []);
  for (let round = 0; round < rounds; round++) {
    const order = Array.from({ length: count }, (_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const which of order) {
      await sleep(300);
      results[which].push(await turn(which));
    }
  }
  return results;
}
