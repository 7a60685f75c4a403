// The technician's own page (docs/web.md, "My work orders"): their work
// orders in the order they will do them, the next step of each, and where
// their technician record is found.
import type { WorkOrder, WorkOrderStatus } from "../../api/types";

const OPEN: WorkOrderStatus[] = ["scheduled", "en_route", "on_site"];

/** To do (by window start, soonest first) and done (latest first). */
export function splitWork(orders: WorkOrder[]): { todo: WorkOrder[]; done: WorkOrder[] } {
  const start = (w: WorkOrder) => Date.parse(w.window.start);
  const todo = orders.filter((w) => OPEN.includes(w.status)).sort((a, b) => start(a) - start(b));
  const done = orders.filter((w) => !OPEN.includes(w.status)).sort((a, b) => start(b) - start(a));
  return { todo, done };
}

/** The one-tap step forward from a status, in the technician's words; the
 * completion is not one (it needs the checklist and a sign-off: the work
 * order's page). */
export function nextStep(status: WorkOrderStatus): { status: WorkOrderStatus; label: string } | null {
  if (status === "scheduled") return { status: "en_route", label: "On my way" };
  if (status === "en_route") return { status: "on_site", label: "Arrived" };
  return null;
}

/** A typed latitude and longitude, or what is wrong with them. */
export function readPosition(lat: string, lon: string): { lat: number; lon: number } | { error: string } {
  const a = Number(lat.trim());
  const o = Number(lon.trim());
  if (lat.trim() === "" || !Number.isFinite(a) || a < -90 || a > 90) return { error: "The latitude is a number from -90 to 90, e.g. 48.8566." };
  if (lon.trim() === "" || !Number.isFinite(o) || o < -180 || o > 180) return { error: "The longitude is a number from -180 to 180, e.g. 2.3522." };
  return { lat: a, lon: o };
}

/** The browser's position, or why there is none (no geolocation here, the
 * permission refused, no fix in time), in words. */
export function browserPosition(geo: Geolocation | undefined, timeoutMs = 15_000): Promise<{ lat: number; lon: number }> {
  return new Promise((resolve, reject) => {
    if (!geo) {
      reject(new Error("This browser cannot tell your position: type it below."));
      return;
    }
    geo.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      (e) =>
        reject(
          new Error(
            e.code === 1 ? "The browser was not allowed to tell your position: type it below." : "The browser could not find your position: type it below.",
          ),
        ),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60_000 },
    );
  });
}
