/**
 * Log lines this process dropped because LOG_BUFFER_MAX_BYTES of lines were already waiting for stdout
 * (see logging.module.ts). Process-wide, as the stdout destination is: MetricsService reads it.
 */
let dropped = 0;

export function countDroppedLogLines(lines: number): void {
  dropped += lines;
}

export function droppedLogLines(): number {
  return dropped;
}
