/** How long each measured run lasts, and the other knobs `--quick` turns down. */
export interface BenchContext {
  quick: boolean;
  /** Seconds for one measured run: `full` normally, a fraction of it with --quick. */
  seconds(full: number): number;
  log(message: string): void;
}

/** One line of the summary table at the top of RESULTS.md. */
export interface SummaryRow {
  item: string;
  ours: string;
  ceiling: string;
  ratio: string;
  target: string;
  met: boolean | undefined;
}

/** What a benchmark hands back: its part of RESULTS.md. */
export interface Section {
  title: string;
  markdown: string;
  summary: SummaryRow[];
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Numbers as people read them: 3 significant figures below 100, whole numbers above. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3).replace(/\.?0+$/, '');
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${num(value)} ms` : 'n/a';
}

/** A difference in milliseconds with its sign: +1.2 ms, −0.3 ms. */
export function deltaMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value < 0 ? '−' : '+'}${num(Math.abs(value))} ms`;
}

export function ratio(ours: number, ceiling: number): string {
  return Number.isFinite(ours / ceiling) ? `${(ours / ceiling).toFixed(2)}×` : 'n/a';
}

export function codeBlock(text: string): string {
  return ['```', text.trimEnd(), '```'].join('\n');
}
