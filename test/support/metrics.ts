import type { INestApplication } from '@nestjs/common';
import { MetricsService } from '../../src/metrics/metrics.service';

/** One line of a Prometheus text-format scrape. */
export interface ScrapedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition format (`# HELP`/`# TYPE` lines skipped); throws on a line it cannot read. */
export function parseScrape(text: string): ScrapedSample[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = SAMPLE.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) {
        labels[key] = raw.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      }
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(
  samples: readonly ScrapedSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}

/** A counter or gauge of an app's own registry, read in process (0 while the series does not exist). */
export async function metricValue(
  app: INestApplication,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = app.get(MetricsService).registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric named ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value))
    .reduce((sum, v) => sum + v.value, 0);
}
