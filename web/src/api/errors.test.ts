import { describe, expect, it } from "vitest";
import { ApiError, conflictText, describeError } from "./errors";

describe("conflictText", () => {
  it("says the change was not saved and what to do", () => {
    const t = conflictText("ticket", 3, 5);
    expect(t).toContain("Someone else changed this ticket");
    expect(t).toContain("your change was not saved");
    expect(t).toContain("version 5");
    expect(t).toContain("version 3");
    expect(t).toContain("make your change again");
  });

  it("leaves out versions it does not know", () => {
    expect(conflictText("rule", 2)).not.toContain("version");
    expect(conflictText("rule", 2, 2)).not.toContain("version");
  });
});

describe("describeError", () => {
  it("lists the fields of a 422", () => {
    const e = new ApiError(422, { detail: "invalid fields", errors: [{ field: "subject", message: "too long" }] });
    expect(describeError(e)).toBe("invalid fields (subject: too long)");
  });

  it("asks for the code when MFA is required", () => {
    expect(describeError(new ApiError(401, { mfa_required: true }))).toMatch(/6-digit code/);
  });

  it("shows the server's detail, or a sentence when there is none", () => {
    expect(describeError(new ApiError(409, { detail: "email already in use" }))).toBe("email already in use");
    expect(describeError(new ApiError(403, {}))).toBe("Your role may not do this.");
    expect(describeError(new ApiError(0, {}))).toMatch(/could not be reached/);
    expect(describeError(new ApiError(503, { request_id: "r-1" }))).toMatch(/503, request r-1/);
    expect(describeError(new Error("plain"))).toBe("plain");
  });
});
