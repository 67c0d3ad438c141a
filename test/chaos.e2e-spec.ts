import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CHAOS = join(process.cwd(), 'dist', 'chaos', 'chaos.js');

/** Runs the chaos driver as `npm run chaos` does; its table goes to this test's output. */
function chaos(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHAOS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // The apps' own error logs during the faults: kept (the tail) to explain a run that did not finish.
    child.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
    child.on('exit', (code) => {
      if (!output.includes('CHAOS PASSED') && !output.includes('CHAOS FAILED')) output += `\n[stderr tail]\n${errors}`;
      resolve({ code, output });
    });
  });
}

/**
 * The bounded chaos profile (a few hundred payments, every fault class) against real processes and
 * services — and proof that its checker can fail: the same run with a partner that does not deduplicate.
 */
describe('chaos (bounded profile)', () => {
  beforeAll(() => {
    if (!existsSync(CHAOS))
      throw new Error('dist/chaos/chaos.js is missing: run `npm run build` first (npm test does)');
  });

  it('no payment lost, none duplicated, books balance, under every fault class', async () => {
    const { code, output } = await chaos(['--payments', '200', '--buyers', '10', '--settle', '240']);
    process.stdout.write(`${output.includes('\ncheck') ? output.slice(output.indexOf('\ncheck')) : output}\n`);
    expect(output).toContain('MariaDB restarted');
    expect(output).toContain('Redis stopped and restarted');
    expect(output).toContain('RabbitMQ stopped and started');
    expect(output).toContain('SIGKILL app process');
    // The second shop ran on its own accounts, and its books were checked on their own.
    expect(output).toMatch(/reconciliation wechat wechat-shop-b: unexplained differences +0 .* ok/);
    expect(output).toMatch(/shop B's partner got its events only +\d+ \/ \d+, 0 foreign +ok/);
    // The webhook partner (slow, failing, restarting) applied every event once.
    expect(output).toMatch(/webhook partner applied every event once +(\d+) \/ \1, 0 twice +ok/);
    expect(output).toMatch(/barcode trades left undecided at the vendor +0 of [1-9]\d* +ok/);
    expect(output).toContain('CHAOS PASSED');
    expect(code).toBe(0);
  }, 600_000);

  it('the checker catches a partner that does not deduplicate (a deliberately broken consumer)', async () => {
    const { code, output } = await chaos([
      '--payments',
      '40',
      '--buyers',
      '8',
      '--settle',
      '200',
      '--no-mariadb',
      '--broken-partner-dedupe',
      '--partner-crash-every',
      '5',
    ]);
    expect(output).toMatch(/VIOLATION partner applied every event once: .*applied twice: [0-9a-f-]{36}/);
    expect(output).toMatch(/VIOLATION webhook partner applied every event once: .*applied twice: [0-9a-f-]{36}/);
    expect(code).toBe(1);
  }, 600_000);
});
