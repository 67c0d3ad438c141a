import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../config/environment';
import { parseDurationList } from '../../config/setting-values';
import { SIGNATURE_HEADER } from '../payment-event';
import { RETRY_JITTER } from './retry-schedule';
import {
  RESPONSE_BODY_LIMIT,
  WEBHOOK_EVENT_ID_HEADER,
  WEBHOOK_EVENT_TYPE_HEADER,
  WEBHOOK_USER_AGENT,
} from './webhook.sender';

/** docs/webhooks.md is what webhook partners code against: it must say what the code sends and does. */
describe('docs/webhooks.md matches the code', () => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'webhooks.md'), 'utf8');
  const example = /```\nPOST [^\n]*\n([\s\S]*?)\n\n/.exec(doc)?.[1] ?? '';
  const exampleHeaders = new Map(
    example
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );

  it('shows every header a POST carries, named as the sender names them', () => {
    for (const header of [SIGNATURE_HEADER, WEBHOOK_EVENT_ID_HEADER, WEBHOOK_EVENT_TYPE_HEADER, 'idempotency-key']) {
      expect(exampleHeaders.has(header)).toBe(true);
    }
    expect(exampleHeaders.get('user-agent')).toBe(WEBHOOK_USER_AGENT);
    expect(exampleHeaders.get('content-type')).toBe('application/json');
    expect(exampleHeaders.get(WEBHOOK_EVENT_ID_HEADER)).toBe(exampleHeaders.get('idempotency-key'));
  });

  it('states the default retry schedule, its jitter, the timeout and the answer cap the code uses', () => {
    const waits = parseDurationList(DEFAULTS.WEBHOOK_RETRY_SCHEDULE);
    const spoken = DEFAULTS.WEBHOOK_RETRY_SCHEDULE.split(',')
      .map((w) =>
        w
          .replace(/(\d+)m$/, '$1 min')
          .replace(/(\d+)s$/, '$1 s')
          .replace(/(\d+)h$/, '$1 h'),
      )
      .join(', ');
    expect(doc).toContain(spoken);
    expect(doc).toContain(`That is ${waits.length + 1} sends`);
    expect(doc).toContain(`±${RETRY_JITTER * 100}%`);
    expect(doc).toContain(`\`WEBHOOK_TIMEOUT_MS\`, ${DEFAULTS.WEBHOOK_TIMEOUT_MS / 1000} s`);
    expect(doc).toContain(`at most ${RESPONSE_BODY_LIMIT / 1024} KiB`);
    expect(doc).toContain(`(\`WEBHOOK_CONCURRENCY\`, ${DEFAULTS.WEBHOOK_CONCURRENCY} per instance)`);
    expect(doc).toContain(`\`WEBHOOK_CIRCUIT_FAILURES\` (${DEFAULTS.WEBHOOK_CIRCUIT_FAILURES})`);
    expect(doc).toContain(
      `\`WEBHOOK_CIRCUIT_COOLDOWN\` (${DEFAULTS.WEBHOOK_CIRCUIT_COOLDOWN.replace(/^(\d+)s$/, '$1 s')})`,
    );
  });
});
