import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './support/amqp';
import { freePort } from './support/sandbox';

const SANDBOX_MAIN = join(process.cwd(), 'dist', 'sandbox', 'main.js');

/** This machine's first non-loopback IPv4 address: what another machine on the network would connect to. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

/**
 * The sandbox's pay endpoints take no credentials: whoever reaches it marks payments paid. The built sandbox
 * (`npm run start:sandbox`) listens on the loopback unless SANDBOX_HOST says otherwise.
 */
(outside ? describe : describe.skip)(
  'the gateway sandbox listens on 127.0.0.1 by default (built, as a process)',
  () => {
    const keys = join(mkdtempSync(join(tmpdir(), 'pc-sandbox-listen-')), 'keys');
    let child: ChildProcess | undefined;

    beforeAll(() => {
      if (!existsSync(SANDBOX_MAIN)) throw new Error('dist/sandbox/main.js is missing: run `npm run build` first');
    });

    afterEach(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    });

    async function start(env: Record<string, string>): Promise<number> {
      const port = await freePort();
      child = spawn(process.execPath, [SANDBOX_MAIN], {
        env: { ...process.env, SANDBOX_PORT: String(port), SANDBOX_KEYS_DIR: keys, ...env },
        stdio: 'ignore',
      });
      await waitFor('the sandbox to answer on the loopback', () => answers(`http://127.0.0.1:${port}`), 60_000);
      return port;
    }

    const answers = (origin: string) =>
      fetch(`${origin}/sandbox/cashier/none`, { signal: AbortSignal.timeout(2000) }).then(
        () => true,
        () => false,
      );

    it('answers on 127.0.0.1 and not on the machine’s network address', async () => {
      const port = await start({});
      expect(await answers(`http://${outside}:${port}`)).toBe(false);
    });

    it('SANDBOX_HOST=0.0.0.0 (inside a container) opens it to the network', async () => {
      const port = await start({ SANDBOX_HOST: '0.0.0.0' });
      expect(await answers(`http://${outside}:${port}`)).toBe(true);
    });
  },
);
