import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm start`: the Payment Center and the gateway sandbox it points at by default, as two processes
 * (they share nothing but the vendors' wire formats and the generated test keys). Ctrl-C stops both;
 * if either exits, the other is stopped too. In production run `npm run start:app` alone.
 * The sandbox listens on 127.0.0.1 (SANDBOX_HOST to change it); without PARTNERS the app makes a random
 * Orders event key for the run, so a fresh clone starts with no .env and no published secret.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
const sandboxPort = new URL(process.env.SANDBOX_URL ?? 'http://127.0.0.1:4010').port || '80';
const children: ChildProcess[] = [];

function run(name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, script)], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => {
    console.log(`[start] ${name} exited (${signal ?? code})`);
    for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
  children.push(child);
  return child;
}

if ((process.env.GATEWAY_MODE ?? 'sandbox') === 'sandbox')
  run('sandbox', 'sandbox/main.js', { SANDBOX_PORT: sandboxPort });
run('payment center', 'main.js', {});
void printDemoKey();

/**
 * Once the Payment Center answers (its migrations have run), the local demo application's API key: reused
 * from DEMO_KEY_FILE while it still works, else a new one saved there. Printed so that the README's curl
 * lines work by copy and paste; a deployment creates its applications through the admin API or the CLI.
 */
async function printDemoKey(): Promise<void> {
  const health = `http://127.0.0.1:${process.env.PORT ?? 3000}/health`;
  for (let i = 0; i < 120; i++) {
    if (
      await fetch(health).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const file = process.env.DEMO_KEY_FILE ?? join('var', 'demo-api-key');
  const child = spawn(process.execPath, [join(__dirname, 'applications', 'cli.js'), '--demo', file], {
    stdio: 'inherit',
  });
  child.on('exit', (code) => {
    if (code !== 0) console.log(`[start] could not make the demo API key (exit ${code}); see the lines above`);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  });
}
