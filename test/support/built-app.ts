import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './amqp';
import { freePort, type RunningSandbox } from './sandbox';

export const BUILT_MAIN = join(process.cwd(), 'dist', 'src', 'main.js');

export interface BuiltApp {
  child: ChildProcess;
  base: string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Everything it wrote to stdout and stderr so far (stdout only when `captureStdout`). */
  output(): string;
}

/**
 * The built app (`dist/src/main.js`) as a real process on a free port, pointed at the sandbox, with the
 * test environment plus `env`; resolves once /health answers. Its stderr is echoed to the test's.
 */
export async function startBuiltApp(
  sandbox: RunningSandbox,
  env: Record<string, string>,
  options: { captureStdout?: boolean } = {},
): Promise<BuiltApp> {
  if (!existsSync(BUILT_MAIN))
    throw new Error('dist/src/main.js is missing: run `npm run build` first (npm test does)');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [BUILT_MAIN], {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'error',
      DB_MIGRATE_ON_START: 'false',
      GATEWAY_MODE: 'sandbox',
      SANDBOX_URL: sandbox.url,
      SANDBOX_KEYS_DIR: sandbox.keys,
      PUBLIC_BASE_URL: base,
      ...env,
    },
    stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (!options.captureStdout) process.stderr.write(`[child ${child.pid}] ${chunk.toString()}`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    'the app to answer',
    async () => {
      if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${output}`);
      const health = await fetch(`${base}/health`).catch(() => undefined);
      return health?.status === 200;
    },
    60_000,
  );
  return { child, base, exited, output: () => output };
}
