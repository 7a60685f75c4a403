// Business hours as people type them (docs/web.md): one line per day,
// "09:00-12:00, 13:00-17:00", to and from the API's
// {"timezone","days":{"mon":[["09:00","12:00"],…]}} (docs/openapi.yaml,
// BusinessHours). Checked here as the service checks them, so a mistake is
// named before anything is sent.
import { WEEKDAYS, type BusinessHours, type Weekday } from "./types";

export type HoursText = Record<Weekday, string>;

const TIME = /^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;
const MAX_WINDOWS = 4;

export function hoursToText(hours: BusinessHours | null | undefined): { timezone: string; days: HoursText } {
  const days = {} as HoursText;
  for (const d of WEEKDAYS) days[d] = (hours?.days[d] ?? []).map(([a, b]) => `${a}-${b}`).join(", ");
  return { timezone: hours?.timezone ?? "", days };
}

/** The hours typed, or the first mistake in words. All days empty and no
 * time zone: null (no business hours: the clock runs all the time). */
export function textToHours(timezone: string, days: HoursText): { hours: BusinessHours | null } | { error: string } {
  const tz = timezone.trim();
  const out: BusinessHours = { timezone: tz, days: {} };
  let any = false;
  for (const d of WEEKDAYS) {
    const text = days[d].trim();
    if (!text) continue;
    const windows: [string, string][] = [];
    for (const part of text.split(",")) {
      const m = part.trim().match(/^(\S+)\s*-\s*(\S+)$/);
      if (!m || !TIME.test(m[1]) || !TIME.test(m[2])) return { error: `${d}: “${part.trim()}” is not a time range like 09:00-17:00.` };
      if (m[2] <= m[1]) return { error: `${d}: ${m[1]}-${m[2]} ends before it starts.` };
      const prev = windows[windows.length - 1];
      if (prev && m[1] < prev[1]) return { error: `${d}: the ranges must be in order and must not overlap.` };
      windows.push([m[1], m[2]]);
    }
    if (windows.length > MAX_WINDOWS) return { error: `${d}: at most ${MAX_WINDOWS} ranges a day.` };
    out.days[d] = windows;
    any = true;
  }
  if (!any && !tz) return { hours: null };
  if (!tz) return { error: "Give the time zone the hours are in (e.g. Europe/Berlin)." };
  if (!any) return { error: "Give the hours of at least one day, or clear the time zone for none." };
  return { hours: out };
}
