import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from './config/environment';

/**
 * `npm start`: the Payment Center and the gateway sandbox it points at by default, as two processes
 * (they share nothing but the vendors' wire formats and the generated test keys). Ctrl-C stops both;
 * if either exits, the other is stopped too. In production run `npm run start:app` alone.
 * The sandbox listens on 127.0.0.1 (SANDBOX_HOST to change it); without PARTNERS the app makes a random
 * Orders event key for the run, so a fresh clone starts with no .env and no published secret.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
const sandboxUrl = process.env.SANDBOX_URL ?? DEFAULTS.SANDBOX_URL;
const sandboxPort = new URL(sandboxUrl).port || '80';
const children: ChildProcess[] = [];
/** Set once a stop began (a signal, or one of the two processes ended). */
let stopping = false;

function run(name: string, script: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, script), ...args], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => {
    if (name === 'demo key') {
      if (code !== 0 && !stopping) console.log(`[start] could not make the demo API key (exit ${code}); see above`);
      return; // a one-off: its end stops nothing
    }
    console.log(`[start] ${name} exited (${signal ?? code})`);
    stopping = true;
    for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
  children.push(child);
  return child;
}

void start();

/**
 * The sandbox first: it generates the test keys at its start, before it listens, and the app only reads them.
 * The app starts once the sandbox answers (or the sandbox ended, which stops everything).
 */
async function start(): Promise<void> {
  if ((process.env.GATEWAY_MODE ?? DEFAULTS.GATEWAY_MODE) === 'sandbox') {
    // A separate application beside the service (`sandbox/`, built to dist/sandbox).
    run('sandbox', join('..', 'sandbox', 'main.js'), { SANDBOX_PORT: sandboxPort });
    if (!(await answers(`${sandboxUrl}/sandbox/trades`)))
      console.log(`[start] the sandbox did not answer on ${sandboxUrl}; starting the app anyway`);
  }
  if (stopping) return;
  run('payment center', 'main.js', {});
  await printDemoKey();
}

/** Whether `url` answers within about a minute, asking every 500 ms; false at once when a stop begins. */
async function answers(url: string): Promise<boolean> {
  const once = () =>
    fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      () => true,
      () => false,
    );
  for (let i = 0; i < 120 && !stopping; i++) {
    if (await once()) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

/**
 * Once the Payment Center answers (its migrations have run), the local demo application's API key: reused
 * from DEMO_KEY_FILE while it still works, else a new one saved there. Printed so that the README's curl
 * lines work by copy and paste; a deployment creates its applications through the admin API or the CLI.
 * A stop (Ctrl-C) ends the wait and the key's process too.
 */
async function printDemoKey(): Promise<void> {
  await answers(`http://127.0.0.1:${process.env.PORT ?? DEFAULTS.PORT}/health`);
  if (stopping) return;
  const file = process.env.DEMO_KEY_FILE ?? join('var', 'demo-api-key');
  // The app has migrated the schema by now: the key's process only reads and writes two tables.
  run('demo key', 'applications/cli.js', { DB_MIGRATE_ON_START: 'false' }, ['--demo', file]);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  });
}
