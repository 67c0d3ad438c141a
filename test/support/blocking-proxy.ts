import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the broker that can stop passing what the client sends, as RabbitMQ does to a
 * publishing connection under a memory or disk alarm (it stops reading the socket; nothing is confirmed). Only
 * the connections made through it are affected, not the shared broker's other clients. What the client sent
 * while blocked is held and passed on, in order, when unblocked.
 */
export class BlockingProxy {
  private blocked = false;
  private readonly pipes = new Set<{ client: Socket; broker: Socket; held: Buffer[] }>();

  private constructor(private readonly server: Server) {}

  static async start(brokerPort = 5672): Promise<BlockingProxy> {
    const server = createServer();
    const proxy = new BlockingProxy(server);
    server.on('connection', (client) => proxy.pipe(client, brokerPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  block(): void {
    this.blocked = true;
  }

  unblock(): void {
    this.blocked = false;
    for (const pipe of this.pipes) for (const chunk of pipe.held.splice(0)) pipe.broker.write(chunk);
  }

  async close(): Promise<void> {
    for (const { client, broker } of this.pipes) {
      client.destroy();
      broker.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, brokerPort: number): void {
    const broker = createConnection(brokerPort, '127.0.0.1');
    const pipe = { client, broker, held: [] as Buffer[] };
    this.pipes.add(pipe);
    client.on('data', (chunk: Buffer) => {
      if (this.blocked) pipe.held.push(chunk);
      else broker.write(chunk);
    });
    broker.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      this.pipes.delete(pipe);
      client.destroy();
      broker.destroy();
    };
    client.on('close', end).on('error', end);
    broker.on('close', end).on('error', end);
  }
}
