import { describe, expect, it } from "vitest";
import type { WorkOrder, WorkOrderStatus } from "../../api/types";
import { browserPosition, nextStep, readPosition, splitWork } from "./myWork";

function wo(id: string, status: WorkOrderStatus, start: string, technician_id: string | null = "tech-1"): WorkOrder {
  return { id, status, technician_id, window: { start, end: start } } as WorkOrder;
}

describe("the technician's own page", () => {
  it("puts the open work orders first, soonest first, and the rest latest first", () => {
    const { todo, done } = splitWork([
      wo("a", "completed", "2026-12-01T09:00:00Z"),
      wo("b", "on_site", "2026-12-08T09:00:00Z"),
      wo("c", "scheduled", "2026-12-07T09:00:00Z"),
      wo("d", "cancelled", "2026-12-05T09:00:00Z"),
      wo("e", "en_route", "2026-12-07T12:00:00Z"),
    ]);
    expect(todo.map((w) => w.id)).toEqual(["c", "e", "b"]);
    expect(done.map((w) => w.id)).toEqual(["d", "a"]);
  });

  it("offers the next step up to arriving, never the completion", () => {
    expect(nextStep("scheduled")).toEqual({ status: "en_route", label: "On my way" });
    expect(nextStep("en_route")).toEqual({ status: "on_site", label: "Arrived" });
    expect(nextStep("on_site")).toBeNull();
    expect(nextStep("completed")).toBeNull();
  });

  it("reads a typed position and names what is wrong", () => {
    expect(readPosition(" 48.8566 ", "2.3522")).toEqual({ lat: 48.8566, lon: 2.3522 });
    expect(readPosition("-90", "180")).toEqual({ lat: -90, lon: 180 });
    expect(readPosition("91", "0")).toHaveProperty("error", expect.stringMatching(/latitude/));
    expect(readPosition("", "0")).toHaveProperty("error", expect.stringMatching(/latitude/));
    expect(readPosition("1", "east")).toHaveProperty("error", expect.stringMatching(/longitude/));
    expect(readPosition("1", "-180.5")).toHaveProperty("error", expect.stringMatching(/longitude/));
  });

  it("takes the browser's position, or says why there is none", async () => {
    const geo = (ok: boolean, code = 1) =>
      ({
        getCurrentPosition: (yes: PositionCallback, no: PositionErrorCallback) =>
          ok ? yes({ coords: { latitude: 45.5, longitude: -73.6 } } as GeolocationPosition) : no({ code } as GeolocationPositionError),
      }) as unknown as Geolocation;
    await expect(browserPosition(geo(true))).resolves.toEqual({ lat: 45.5, lon: -73.6 });
    await expect(browserPosition(geo(false, 1))).rejects.toThrow(/not allowed/);
    await expect(browserPosition(geo(false, 3))).rejects.toThrow(/could not find/);
    await expect(browserPosition(undefined)).rejects.toThrow(/cannot tell/);
  });
});
