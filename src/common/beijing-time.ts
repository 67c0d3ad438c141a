/** Vendors' local time: China Standard Time, UTC+8 all year. */

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (Alipay's timestamps, both vendors' bills). */
export function beijingTimestamp(at: Date): string {
  return new Date(at.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export function fromBeijingTimestamp(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  return new Date(`${text.replace(' ', 'T')}+08:00`);
}

/** The Beijing date (`YYYY-MM-DD`) of a moment: vendors' statements are cut at Beijing midnight. */
export function beijingDate(at: Date): string {
  return new Date(at.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

/** The moments a Beijing date spans: [start, end). */
export function beijingDay(date: string): { start: Date; end: Date } {
  const start = new Date(`${date}T00:00:00+08:00`);
  return { start, end: new Date(start.getTime() + 24 * 3600 * 1000) };
}
