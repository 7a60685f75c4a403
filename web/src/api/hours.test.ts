import { describe, expect, it } from "vitest";
import { hoursToText, textToHours } from "./hours";

const empty = { mon: "", tue: "", wed: "", thu: "", fri: "", sat: "", sun: "" };

describe("business hours as text", () => {
  it("reads what people type, ranges in order, days left empty left out", () => {
    const r = textToHours(" Europe/Berlin ", { ...empty, mon: "09:00-12:00, 13:00 - 17:00", sat: "10:00-24:00" });
    expect(r).toEqual({
      hours: {
        timezone: "Europe/Berlin",
        days: {
          mon: [
            ["09:00", "12:00"],
            ["13:00", "17:00"],
          ],
          sat: [["10:00", "24:00"]],
        },
      },
    });
  });

  it("round-trips the API's shape", () => {
    const hours = { timezone: "America/New_York", days: { tue: [["08:30", "16:30"]] as [string, string][] } };
    const text = hoursToText(hours);
    expect(text.days.tue).toBe("08:30-16:30");
    expect(text.days.mon).toBe("");
    expect(textToHours(text.timezone, text.days)).toEqual({ hours });
  });

  it("no time zone and no day: no business hours (null)", () => {
    expect(textToHours("", empty)).toEqual({ hours: null });
    expect(hoursToText(null)).toEqual({ timezone: "", days: empty });
  });

  it("names the first mistake", () => {
    expect(textToHours("UTC", { ...empty, mon: "9-17" })).toEqual({ error: "mon: “9-17” is not a time range like 09:00-17:00." });
    expect(textToHours("UTC", { ...empty, tue: "17:00-09:00" })).toEqual({ error: "tue: 17:00-09:00 ends before it starts." });
    expect(textToHours("UTC", { ...empty, wed: "13:00-17:00, 09:00-14:00" })).toEqual({ error: "wed: the ranges must be in order and must not overlap." });
    expect(textToHours("UTC", { ...empty, thu: "01:00-02:00, 03:00-04:00, 05:00-06:00, 07:00-08:00, 09:00-10:00" })).toEqual({
      error: "thu: at most 4 ranges a day.",
    });
    expect(textToHours("UTC", { ...empty, fri: "24:30-25:00" })).toHaveProperty("error");
    expect(textToHours("", { ...empty, mon: "09:00-17:00" })).toEqual({ error: "Give the time zone the hours are in (e.g. Europe/Berlin)." });
    expect(textToHours("UTC", empty)).toEqual({ error: "Give the hours of at least one day, or clear the time zone for none." });
  });
});
