import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/errors";
import { actionsFor, draftOf, emptyRule, itemMessage, opsFor, ruleBody, ruleText, sentIndexes, withEvent, withField } from "./rules";

describe("automation rules in the editor", () => {
  it("offers lt and gt for sentiment only, and keeps an operator the new field takes", () => {
    expect(opsFor("sentiment")).toEqual(["eq", "ne", "lt", "gt"]);
    expect(opsFor("subject")).not.toContain("lt");
    expect(withField({ field: "subject", op: "contains", value: "x" }, "sentiment").op).toBe("eq");
    expect(withField({ field: "sentiment", op: "lt", value: "-2" }, "tags").op).toBe("eq");
    expect(withField({ field: "subject", op: "ne", value: "x" }, "sentiment").op).toBe("ne");
  });

  it("offers auto_triage on ticket.created only and drops it when the event changes", () => {
    expect(actionsFor("ticket.created")).toContain("auto_triage");
    expect(actionsFor("ticket.updated")).not.toContain("auto_triage");
    const r = {
      ...emptyRule(),
      actions: [
        { type: "auto_triage", value: "0.8" },
        { type: "add_tag", value: "x" },
      ],
    };
    expect(withEvent(r, "ticket.updated").actions).toEqual([{ type: "add_tag", value: "x" }]);
    expect(withEvent({ ...r, actions: [{ type: "auto_triage", value: "0.8" }] }, "ticket.updated").actions).toHaveLength(1);
  });

  it("sends every condition with a value (in: a list) and every action, trimmed", () => {
    const body = ruleBody({
      name: " Angry VIPs ",
      event: "ticket.created",
      conditions: [
        { field: "sentiment", op: "lt", value: " -3 " },
        { field: "subject", op: "contains", value: "  " },
        { field: "tags", op: "in", value: "vip, gold ,," },
      ],
      actions: [
        { type: "set_priority", value: "urgent" },
        { type: "auto_triage", value: "0.75" },
      ],
    });
    expect(body).toEqual({
      name: "Angry VIPs",
      event: "ticket.created",
      conditions: [
        { field: "sentiment", op: "lt", value: "-3" },
        { field: "tags", op: "in", value: ["vip", "gold"] },
      ],
      actions: [
        { type: "set_priority", value: "urgent" },
        { type: "auto_triage", value: "0.75" },
      ],
    });
    expect(sentIndexes([{ value: "a" }, { value: " " }, { value: "b" }] as never)).toEqual([0, null, 1]);
  });

  it("puts each 422 error under the row it names, by the index sent", () => {
    const err = new ApiError(422, {
      errors: [
        { field: "conditions[1].op", message: "lt and gt compare sentiment only" },
        { field: "actions[0].value", message: "is not valid for this action type" },
        { field: "actions[1]", message: "must be an object" },
        { field: "name", message: "is required" },
      ],
    });
    expect(itemMessage(err, "conditions", 1)).toBe("operator: lt and gt compare sentiment only");
    expect(itemMessage(err, "conditions", 0)).toBe("");
    expect(itemMessage(err, "conditions", null)).toBe("");
    expect(itemMessage(err, "actions", 0)).toBe("value is not valid for this action type");
    expect(itemMessage(err, "actions", 1)).toBe("must be an object");
    expect(itemMessage(new Error("x"), "actions", 0)).toBe("");
  });

  it("reads a stored rule back into the editor and says it in words", () => {
    const a = {
      id: "a1",
      name: "R",
      event: "ticket.created" as const,
      conditions: [
        { field: "tags", op: "in", value: ["vip", "gold"] },
        { field: "sentiment", op: "lt", value: "-3" },
      ],
      actions: [{ type: "auto_triage", value: "0.8" }],
      active: true,
      version: 2,
    };
    expect(draftOf(a).conditions[0]).toEqual({ field: "tags", op: "in", value: "vip, gold" });
    expect(ruleBody(draftOf(a)).conditions).toEqual(a.conditions);
    expect(ruleText(a)).toBe('on ticket.created: tags in one of "vip", "gold" and sentiment lt "-3" → auto_triage at confidence ≥ 0.8');
    expect(ruleText({ ...a, conditions: [] })).toMatch(/: always →/);
  });
});
