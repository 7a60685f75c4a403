// The analytics page's window in the tenant's time zone (docs/web.md,
// "Analytics"): the days a person picks are the zone's days, as the
// service's day buckets are, so "from 1 to 7 December" is sent as the two
// instants at which those days begin and end there.

/** The offset of timeZone from UTC at instant ms, in ms (east positive). */
function offsetAt(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - (ms - (ms % 1000));
}

/** The instant at which day ("YYYY-MM-DD") begins in timeZone. */
export function zonedDayStart(day: string, timeZone: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  // twice: the offset at the guess may differ from the one at the answer (DST)
  let at = wall - offsetAt(wall, timeZone);
  at = wall - offsetAt(at, timeZone);
  return new Date(at);
}

/** The day ("YYYY-MM-DD") that instant d falls on in timeZone. */
export function dayIn(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

/** day plus n days (calendar days, whatever the zone). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The query of the days from fromDay to toDay, both included, in timeZone. */
export function windowQuery(fromDay: string, toDay: string, timeZone: string): { from: string; to: string } {
  return { from: zonedDayStart(fromDay, timeZone).toISOString(), to: zonedDayStart(addDays(toDay, 1), timeZone).toISOString() };
}

/** A bucket's start as people read it in timeZone (a day, or a day and hour). */
export function bucketLabel(t: string, interval: "hour" | "day", timeZone: string): string {
  const opts: Intl.DateTimeFormatOptions =
    interval === "day" ? { month: "short", day: "numeric" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(undefined, { ...opts, timeZone }).format(new Date(t));
}

/** The name a CSV download is saved under. */
export function csvName(kind: string, fromDay: string, toDay: string): string {
  return `analytics-${kind}-${fromDay}-to-${toDay}.csv`;
}

/** The IANA zones the browser knows (the settings' choices), UTC first. */
export function knownZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const zones = intl.supportedValuesOf?.("timeZone") ?? [];
  return ["UTC", ...zones.filter((z) => z !== "UTC")];
}
