import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronTime } from 'cron';

/**
 * Our `@Cron` jobs are declared disabled with a placeholder time; at bootstrap each one takes its schedule
 * from configuration and starts only if enabled.
 */
export function startConfiguredCron(
  scheduler: SchedulerRegistry,
  name: string,
  settings: { enabled: boolean; cron: string; timeZone?: string },
): void {
  if (!settings.enabled) return;
  const job = scheduler.getCronJob(name);
  job.setTime(new CronTime(settings.cron, settings.timeZone));
  job.start();
}

/** Stops the job (no new ticks); the caller then waits for a tick that is still running. */
export async function stopConfiguredCron(scheduler: SchedulerRegistry, name: string): Promise<void> {
  if (scheduler.doesExist('cron', name)) await scheduler.getCronJob(name).stop();
}
