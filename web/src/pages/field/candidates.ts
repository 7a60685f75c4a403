// Who may be sent to a work order by hand (docs/web.md, "Dispatch board"):
// the technicians hd-field would accept for POST …/dispatch with
// {"technician_id"} — active, with every required skill — nearest first,
// each with what the board knows against them (not available, busy with an
// overlapping open work order). The service checks it all again.
import type { LatLon, Technician, WorkOrder } from "../../api/types";

export interface Candidate {
  tech: Technician;
  /** straight-line distance, null without a position */
  km: number | null;
  /** an open work order of theirs overlaps this one's window */
  busy: boolean;
}

const BUSY = new Set(["scheduled", "en_route", "on_site"]);

/** Great-circle distance in km (haversine, mean Earth radius). */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function overlaps(a: WorkOrder["window"], b: WorkOrder["window"]): boolean {
  return Date.parse(a.start) < Date.parse(b.end) && Date.parse(b.start) < Date.parse(a.end);
}

/** The qualified technicians for wo: free and available ones first, then by distance. */
export function candidates(wo: WorkOrder, techs: Technician[], orders: WorkOrder[]): Candidate[] {
  const list = techs
    .filter((t) => t.active && wo.required_skills.every((s) => t.skills.includes(s)))
    .map((tech) => ({
      tech,
      km: tech.location ? distanceKm(tech.location, wo.location) : null,
      busy: orders.some((o) => o.id !== wo.id && o.technician_id === tech.id && BUSY.has(o.status) && overlaps(o.window, wo.window)),
    }));
  const rank = (c: Candidate) => (c.busy ? 2 : 0) + (c.tech.available ? 0 : 1);
  return list.sort((a, b) => rank(a) - rank(b) || (a.km ?? Infinity) - (b.km ?? Infinity));
}

/** A candidate in words, for the choice list. */
export function candidateText(name: string, c: Candidate): string {
  const notes = [c.km === null ? "no position" : `${c.km.toFixed(1)} km`];
  if (!c.tech.available) notes.push("not available");
  if (c.busy) notes.push("busy then");
  return `${name} (${notes.join(", ")})`;
}
