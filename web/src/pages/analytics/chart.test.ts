import { describe, expect, it } from "vitest";
import { bandPath, bars, FRAME, labelSlots, linePath, niceCeil, ticks, xOf, yOf } from "./chart";
import { addDays, bucketLabel, csvName, dayIn, windowQuery, zonedDayStart } from "./window";

describe("chart geometry", () => {
  it("rounds the scale up to 1, 2 or 5 times a power of ten", () => {
    expect([0, -3, 0.3, 1, 3, 7, 10, 11, 180, 501].map(niceCeil)).toEqual([1, 1, 0.5, 1, 5, 10, 10, 20, 200, 1000]);
    expect(ticks(20, 4)).toEqual([0, 5, 10, 15, 20]);
  });

  it("puts 0 on the base line and the top at the top, negatives on the base", () => {
    expect(yOf(0, 10)).toBe(FRAME.height - FRAME.bottom);
    expect(yOf(10, 10)).toBe(FRAME.top);
    expect(yOf(-4, 10)).toBe(FRAME.height - FRAME.bottom);
  });

  it("draws one bar per value, tallest for the largest, none for 0", () => {
    const b = bars([0, 5, 10], 10);
    expect(b).toHaveLength(3);
    expect(b[0].height).toBe(0);
    expect(b[2].height).toBeCloseTo(FRAME.height - FRAME.top - FRAME.bottom);
    expect(b[1].height).toBeCloseTo(b[2].height / 2);
    // side by side inside the plot
    expect(b[0].x).toBeGreaterThanOrEqual(FRAME.left);
    expect(b[2].x + b[2].width).toBeLessThanOrEqual(FRAME.width - FRAME.right);
    expect(b[1].x).toBeGreaterThan(b[0].x + b[0].width);
  });

  it("draws lines and a closed band through the slots' middles", () => {
    expect(linePath([], 10)).toBe("");
    const p = linePath([0, 10], 10);
    expect(p).toBe(`M${xOf(0, 2)} ${yOf(0, 10)} L${xOf(1, 2)} ${FRAME.top}`);
    const band = bandPath([1, 2], [3, 4], 10);
    expect(band.startsWith("M")).toBe(true);
    expect(band.endsWith("Z")).toBe(true);
    expect(band.match(/[ML]/g)).toHaveLength(4);
  });

  it("labels at most six slots, the first and the last among them", () => {
    expect(labelSlots(0)).toEqual([]);
    expect(labelSlots(3)).toEqual([0, 1, 2]);
    const l = labelSlots(31);
    expect(l).toHaveLength(6);
    expect(l[0]).toBe(0);
    expect(l[5]).toBe(30);
  });
});

describe("the window in the tenant's time zone", () => {
  it("begins a day at the zone's midnight, across daylight saving changes", () => {
    expect(zonedDayStart("2026-12-07", "UTC").toISOString()).toBe("2026-12-07T00:00:00.000Z");
    expect(zonedDayStart("2026-12-07", "Europe/Paris").toISOString()).toBe("2026-12-06T23:00:00.000Z");
    expect(zonedDayStart("2026-07-01", "Europe/Paris").toISOString()).toBe("2026-06-30T22:00:00.000Z");
    // the day summer time starts in New York (2 a.m. skipped): midnight is still EST
    expect(zonedDayStart("2026-03-08", "America/New_York").toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(zonedDayStart("2026-03-09", "America/New_York").toISOString()).toBe("2026-03-09T04:00:00.000Z");
    expect(zonedDayStart("2026-12-07", "Asia/Kolkata").toISOString()).toBe("2026-12-06T18:30:00.000Z");
  });

  it("sends the picked days, both included, as [from, to)", () => {
    expect(windowQuery("2026-11-01", "2026-11-30", "Europe/Berlin")).toEqual({ from: "2026-10-31T23:00:00.000Z", to: "2026-11-30T23:00:00.000Z" });
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  });

  it("tells the day of an instant in the zone, and names the CSV", () => {
    expect(dayIn(new Date("2026-12-06T23:30:00Z"), "Europe/Paris")).toBe("2026-12-07");
    expect(dayIn(new Date("2026-12-06T23:30:00Z"), "UTC")).toBe("2026-12-06");
    expect(bucketLabel("2026-12-06T23:00:00Z", "day", "Europe/Paris")).toMatch(/7/);
    expect(csvName("agents", "2026-11-01", "2026-11-30")).toBe("analytics-agents-2026-11-01-to-2026-11-30.csv");
  });
});
