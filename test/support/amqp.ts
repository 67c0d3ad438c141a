import { type Channel, type ChannelModel, connect, type GetMessage } from 'amqplib';
import { execSync } from 'node:child_process';

export const AMQP_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A plain AMQP client for assertions: what a partner's consumer would see. */
export class AmqpProbe {
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: Channel,
  ) {}

  static async open(url = AMQP_URL): Promise<AmqpProbe> {
    const connection = await connect(url);
    // A test client must not crash the test process when the broker goes away under it.
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return new AmqpProbe(connection, channel);
  }

  /** Takes (and acks) messages from a queue until `count` arrived or `timeoutMs` passed. */
  async take(queue: string, count: number, timeoutMs = 15_000): Promise<GetMessage[]> {
    const got: GetMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count && Date.now() < deadline) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message) got.push(message);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return got;
  }

  async deleteQueues(queues: string[]): Promise<void> {
    for (const queue of queues) await this.channel.deleteQueue(queue).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

function rabbitmqctl(args: string): void {
  execSync(`rabbitmqctl ${args}`, { stdio: 'pipe', timeout: 120_000 });
}

/** Stops the broker application (the Erlang node stays up), as an outage does to every client. */
export function stopBroker(): void {
  rabbitmqctl('stop_app');
}

export function startBroker(): void {
  rabbitmqctl('start_app');
  rabbitmqctl('await_startup');
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
