import { describe, expect, it } from "vitest";
import { parseLatLon } from "./data";
import { fitProjection } from "./plot";

const box = { width: 800, height: 480, margin: 40 };

describe("the dispatch board's projection", () => {
  it("fits every point inside the margins, north up and east right", () => {
    const paris = { lat: 48.8566, lon: 2.3522 };
    const north = { lat: 48.9, lon: 2.3522 };
    const east = { lat: 48.8566, lon: 2.45 };
    const project = fitProjection([paris, north, east], box);
    for (const p of [paris, north, east].map(project)) {
      expect(p.x).toBeGreaterThanOrEqual(box.margin - 1e-9);
      expect(p.x).toBeLessThanOrEqual(box.width - box.margin + 1e-9);
      expect(p.y).toBeGreaterThanOrEqual(box.margin - 1e-9);
      expect(p.y).toBeLessThanOrEqual(box.height - box.margin + 1e-9);
    }
    expect(project(north).y).toBeLessThan(project(paris).y);
    expect(project(east).x).toBeGreaterThan(project(paris).x);
  });

  it("keeps shapes: one kilometre is as long north-south as east-west", () => {
    const a = { lat: 48.85, lon: 2.35 };
    // 0.01° of latitude ≈ 1.112 km; the same distance east is 0.01° / cos(48.85°)
    const n = { lat: 48.86, lon: 2.35 };
    const e = { lat: 48.85, lon: 2.35 + 0.01 / Math.cos((48.855 * Math.PI) / 180) };
    const project = fitProjection([a, n, e], box);
    const dn = Math.abs(project(n).y - project(a).y);
    const de = Math.abs(project(e).x - project(a).x);
    expect(de / dn).toBeCloseTo(1, 3);
  });

  it("puts one point, or none, in the middle", () => {
    expect(fitProjection([{ lat: 10, lon: 20 }], box)({ lat: 10, lon: 20 })).toEqual({ x: 400, y: 240 });
    expect(fitProjection([], box)({ lat: 0, lon: 0 })).toEqual({ x: 400, y: 240 });
  });
});

describe("positions typed as text", () => {
  it("reads latitude, longitude with a comma or a space", () => {
    expect(parseLatLon(" 48.8566, 2.3522 ")).toEqual({ lat: 48.8566, lon: 2.3522 });
    expect(parseLatLon("-33.9 151.2")).toEqual({ lat: -33.9, lon: 151.2 });
  });

  it("refuses what is not a position on Earth", () => {
    expect(parseLatLon("91, 0")).toBeNull();
    expect(parseLatLon("0, 181")).toBeNull();
    expect(parseLatLon("Paris")).toBeNull();
    expect(parseLatLon("48.8")).toBeNull();
  });
});
