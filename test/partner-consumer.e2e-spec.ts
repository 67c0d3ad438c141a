import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Pool } from 'mysql2/promise';
import type { PartnerConfig } from '../src/config/environment';
import { AmqpConnection } from '../src/notifications/amqp.connection';
import { OutboxRelay } from '../src/notifications/outbox.relay';
import { PAYMENT_EVENTS_EXCHANGE, partnerQueue, SIGNATURE_HEADER } from '../src/notifications/payment-event';
import { AMQP_URL, AmqpProbe, waitFor } from './support/amqp';
import { sqlPool } from './support/database';
import { fakeGateways } from './support/fake-gateway';
import { commitEvents, succeededEvents, type TestEvent } from './support/outbox-rows';
import { testPartners } from './support/partners';
import { type RunningApp, startApp, TestClock } from './support/test-app';

const EXAMPLE = join(process.cwd(), 'examples/partner-consumer');
const { verifyPaymentEvent } = createRequire(join(EXAMPLE, 'verify.js'))('./verify.js') as {
  verifyPaymentEvent: (header: unknown, body: Buffer, keys: { keyId: string; secret: string }[]) => boolean;
};

const partner = testPartners('k');
const ERP = partner('erp');
/** Bound like ERP: its copy of each message carries the same header, so a test can read which ERP key signed it. */
const SNIFF = partner('sniff');
const OLD = { keyId: ERP.keyId, secret: ERP.secret };
const NEW = { keyId: `${ERP.keyId}-next`, secret: `${ERP.secret}-next` };
type Key = typeof OLD;

/** waitFor for a condition this process can see at once (a child's output, a counter). */
const until = (what: string, check: () => boolean, timeoutMs?: number) =>
  waitFor(what, () => Promise.resolve(check()), timeoutMs);

/** An app relaying to ERP (signing with `current`, holding `second` beside it) and SNIFF. */
function relayingApp(current: Key, second?: Key): Promise<RunningApp> {
  const erp: PartnerConfig = { ...ERP, ...current, ...(second ? { secondKey: second } : {}) };
  return startApp(Object.values(fakeGateways()), new TestClock(), {
    partners: [erp, SNIFF],
    ordersPartner: SNIFF.name,
    consumersEnabled: false,
    relay: { enabled: true, pollIntervalMs: 200, publishTimeoutMs: 2000, batchSize: 10, claimLeaseMs: 30_000 },
  });
}

/** examples/partner-consumer/consumer.js as a partner runs it: a child process on ERP's queue. */
class ExampleConsumer {
  readonly out: string[] = [];
  readonly err: string[] = [];

  private constructor(private readonly child: ChildProcess) {
    const lines = (into: string[]) => (chunk: Buffer) =>
      into.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout?.on('data', lines(this.out));
    child.stderr?.on('data', lines(this.err));
  }

  static async start(keys: Record<string, string>): Promise<ExampleConsumer> {
    const child = spawn(process.execPath, [join(EXAMPLE, 'consumer.js')], {
      env: { PATH: process.env.PATH, PARTNER: ERP.name, AMQP_URL, ...keys },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const consumer = new ExampleConsumer(child);
    await until('the example consumer consuming', () => consumer.out.includes(`consuming ${partnerQueue(ERP.name)}`));
    return consumer;
  }

  /** Payment numbers of the events it verified and applied, one entry per application. */
  applied(): string[] {
    return this.out.filter((line) => line.startsWith('payment.succeeded ')).map((line) => line.split(' ')[2]);
  }

  refused(): string[] {
    return this.err.filter((line) => line.startsWith('rejected'));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

describe('the example partner consumer against the real broker (e2e)', () => {
  let db: Pool;
  let probe: AmqpProbe;
  const running: { apps: RunningApp[]; consumers: ExampleConsumer[] } = { apps: [], consumers: [] };

  beforeAll(async () => {
    db = sqlPool();
    probe = await AmqpProbe.open();
  });

  afterEach(async () => {
    await Promise.all(running.consumers.splice(0).map((c) => c.stop()));
    await Promise.all(running.apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    await probe.deleteQueues([ERP, SNIFF].map((p) => partnerQueue(p.name)));
    await probe.close();
    await db.end();
  });

  async function app(current: Key, second?: Key): Promise<RunningApp> {
    const instance = await relayingApp(current, second);
    running.apps.push(instance);
    await instance.app.get(AmqpConnection).ready();
    return instance;
  }

  async function consumer(keys: Record<string, string>): Promise<ExampleConsumer> {
    const started = await ExampleConsumer.start(keys);
    running.consumers.push(started);
    return started;
  }

  async function publish(events: TestEvent[]): Promise<void> {
    await commitEvents(db, events, [ERP.name, SNIFF.name]);
    for (const instance of running.apps) instance.app.get(OutboxRelay).kick();
  }

  const sameMembers = (a: string[], b: string[]) => expect([...a].sort()).toEqual([...b].sort());

  it('verifies and applies relayed events once each, acks a republished one, refuses a forged one', async () => {
    const instance = await app(OLD);
    await probe.channel.purgeQueue(partnerQueue(ERP.name));
    const erp = await consumer({ KEY_ID: OLD.keyId, SECRET: OLD.secret });

    const events = succeededEvents(3);
    await publish(events);
    await until('3 events applied', () => erp.applied().length === 3);
    sameMembers(
      erp.applied(),
      events.map((e) => e.paymentNo),
    );

    // The same event again (an operator's retry re-signs and republishes it): acked, not applied twice.
    await instance.app
      .get(OutboxRelay)
      .send(PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded', { ...events[0], type: 'payment.succeeded' }, [OLD]);
    // A message signed with a key it does not hold under its key id: refused (and dead-lettered), not applied.
    const [forged, after] = succeededEvents(2);
    probe.channel.publish(PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded', Buffer.from(forged.body), {
      messageId: forged.eventId,
      headers: { [SIGNATURE_HEADER]: `t=${Math.floor(Date.now() / 1000)},${OLD.keyId}=${'0'.repeat(64)}` },
    });
    await publish([after]); // behind both on the same queue: once it is applied, both were handled
    await until('the last event applied', () => erp.applied().includes(after.paymentNo));
    expect(erp.applied()).toEqual(expect.arrayContaining([after.paymentNo]));
    expect(erp.applied()).toHaveLength(4);
    expect(erp.refused()).toEqual([`rejected: bad signature ${forged.eventId}`]);
    await probe.channel.purgeQueue(partnerQueue(SNIFF.name));
  });

  it('a key rotation with events in flight: every event signed, none refused, each applied once', async () => {
    await probe.channel.purgeQueue(partnerQueue(ERP.name));
    await probe.channel.purgeQueue(partnerQueue(SNIFF.name));
    // Step 1: the new key beside the current one; events are still signed with the old key.
    const before = await app(OLD, NEW);
    const written: TestEvent[] = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const batch = succeededEvents(1);
        await publish(batch);
        written.push(...batch);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    const untilWritten = (n: number) => until(`${n} events written`, () => written.length >= n);
    try {
      await untilWritten(10); // queued, signed with the old key: no consumer yet
      // Step 2, instance by instance: a second instance signs with the new key while the first still uses the old.
      await app(NEW, OLD);
      await untilWritten(20);
      // The partner's consumer holds both keys (in either order) and starts on a queue of both kinds.
      const erp = await consumer({ KEYS: `${NEW.keyId}:${NEW.secret},${OLD.keyId}:${OLD.secret}` });
      await untilWritten(30);
      running.apps.splice(running.apps.indexOf(before), 1);
      await before.close(); // the last instance on the old key is gone
      await untilWritten(40);
      writing = false;
      await writer;

      const paymentNos = written.map((e) => e.paymentNo);
      await until('every event applied', () => erp.applied().length >= written.length, 30_000);
      sameMembers(erp.applied(), paymentNos);
      expect(erp.refused()).toEqual([]);

      // Which key signed each: the same messages, as SNIFF's queue received them.
      const copies = await probe.take(partnerQueue(SNIFF.name), written.length + 1, 10_000);
      expect(copies).toHaveLength(written.length);
      const signedWith = copies.map((m) => {
        const header = String(m.properties.headers?.[SIGNATURE_HEADER]);
        const ids = header.split(',').map((part) => part.split('=')[0]);
        const erpKeys = [OLD, NEW].filter((k) => ids.includes(k.keyId));
        expect(erpKeys).toHaveLength(1); // only the current key signs, never both, never none
        expect(verifyPaymentEvent(header, m.content, erpKeys)).toBe(true);
        return erpKeys[0].keyId;
      });
      const count = (keyId: string) => signedWith.filter((id) => id === keyId).length;
      expect({ old: count(OLD.keyId) > 0, new: count(NEW.keyId) > 0 }).toEqual({ old: true, new: true });
      // The first events were queued under the old key before the new one signed anything: in flight at the swap.
      expect(signedWith[0]).toBe(OLD.keyId);
    } finally {
      writing = false;
      await writer.catch(() => undefined);
    }
  });

  it('links only documents that exist', () => {
    const links = readdirSync(EXAMPLE)
      .filter((file) => file.endsWith('.js'))
      .flatMap((file) => [...readFileSync(join(EXAMPLE, file), 'utf8').matchAll(/\b((?:docs|examples)\/[\w./-]+)/g)])
      .map((match) => match[1].replace(/[.,]$/, ''));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !existsSync(join(process.cwd(), link)))).toEqual([]);
    // A section named next to a link ("docs/events.md, "Key rotation"") is a heading of that document.
    const events = readFileSync(join(process.cwd(), 'docs/events.md'), 'utf8');
    expect(events).toMatch(/^## Key rotation$/m);
  });
});
