import { describe, expect, it } from "vitest";
import type { Technician, WorkOrder } from "../../api/types";
import { candidates, candidateText, distanceKm } from "./candidates";

const tech = (id: string, over: Partial<Technician> = {}): Technician =>
  ({
    id,
    user_id: `u-${id}`,
    skills: ["gas", "hvac"],
    location: { lat: 48.85, lon: 2.35 },
    available: true,
    active: true,
    working_hours: null,
    last_seen_at: null,
    ...over,
  }) as Technician;

const order = (id: string, over: Partial<WorkOrder> = {}): WorkOrder =>
  ({
    id,
    title: id,
    location: { lat: 48.86, lon: 2.34 },
    required_skills: ["gas"],
    window: { start: "2031-01-01T09:00:00Z", end: "2031-01-01T11:00:00Z" },
    status: "unassigned",
    technician_id: null,
    ...over,
  }) as WorkOrder;

describe("choosing a technician by hand", () => {
  it("measures great-circle distances", () => {
    // Paris to Lyon, about 392 km
    expect(distanceKm({ lat: 48.8566, lon: 2.3522 }, { lat: 45.764, lon: 4.8357 })).toBeCloseTo(392, -1);
    expect(distanceKm({ lat: 1, lon: 1 }, { lat: 1, lon: 1 })).toBe(0);
  });

  it("offers only active technicians with every required skill", () => {
    const wo = order("w", { required_skills: ["gas", "hvac"] });
    const got = candidates(wo, [tech("a"), tech("b", { skills: ["gas"] }), tech("c", { active: false })], []);
    expect(got.map((c) => c.tech.id)).toEqual(["a"]);
  });

  it("puts free and available ones first, then the nearest; no position last", () => {
    const wo = order("w");
    const techs = [
      tech("far", { location: { lat: 45.76, lon: 4.83 } }),
      tech("near"),
      tech("off", { available: false }),
      tech("nowhere", { location: null }),
      tech("busy"),
    ];
    const other = order("o", { status: "scheduled", technician_id: "busy", window: { start: "2031-01-01T10:00:00Z", end: "2031-01-01T12:00:00Z" } });
    const done = order("d", { status: "completed", technician_id: "near" });
    const got = candidates(wo, techs, [other, done, wo]);
    expect(got.map((c) => c.tech.id)).toEqual(["near", "far", "nowhere", "off", "busy"]);
    expect(got.find((c) => c.tech.id === "busy")?.busy).toBe(true);
    expect(got.find((c) => c.tech.id === "near")?.busy).toBe(false);
  });

  it("does not count a window that only touches as busy", () => {
    const wo = order("w");
    const before = order("b", { status: "scheduled", technician_id: "a", window: { start: "2031-01-01T07:00:00Z", end: "2031-01-01T09:00:00Z" } });
    expect(candidates(wo, [tech("a")], [before])[0].busy).toBe(false);
  });

  it("says what is known against each", () => {
    const [c] = candidates(order("w"), [tech("a", { available: false, location: null })], []);
    expect(candidateText("Ana", c)).toBe("Ana (no position, not available)");
  });
});
