/** One series of a gauge: its label values and its value. */
export interface Sample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/**
 * Every combination of the known label values, 0 where no row has it, plus rows with values not known:
 * a series that drops to 0 is reported as 0 rather than vanishing from the scrape.
 */
export function withZeros<L extends string>(
  known: Record<L, readonly string[]>,
  rows: readonly Sample<L>[],
): Sample<L>[] {
  const names = Object.keys(known) as L[];
  const keyOf = (labels: Record<L, string>) => JSON.stringify(names.map((name) => labels[name]));
  const samples = new Map<string, Sample<L>>();
  let combinations: Record<L, string>[] = [{} as Record<L, string>];
  for (const name of names) {
    combinations = combinations.flatMap((labels) => known[name].map((value) => ({ ...labels, [name]: value })));
  }
  if (names.length > 0) for (const labels of combinations) samples.set(keyOf(labels), { labels, value: 0 });
  for (const row of rows) {
    const key = keyOf(row.labels);
    samples.set(key, { labels: row.labels, value: (samples.get(key)?.value ?? 0) + row.value });
  }
  return [...samples.values()];
}

/** Seconds from `since` to `now`; never negative (the clocks of different hosts disagree a little). */
export function ageSeconds(since: Date, now: Date): number {
  return Math.max(0, (now.getTime() - since.getTime()) / 1000);
}
