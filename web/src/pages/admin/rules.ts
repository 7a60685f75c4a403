// Automation rules as the editor holds them (docs/web.md, "Automations"):
// any number of conditions, all of which must hold (the API has no "any":
// docs/openapi.yaml, AutomationCreate), and any number of actions, each
// with its value typed as the API reads it.
import { ApiError } from "../../api/errors";
import type { Automation } from "../../api/types";

export const MAX_ITEMS = 20;

export const CONDITION_FIELDS = ["subject", "description", "priority", "category", "tags", "status", "sentiment"] as const;
export const ACTION_TYPES = ["set_priority", "set_status", "set_category", "add_tag", "assign", "notify_webhook", "auto_triage"] as const;

export type RuleEvent = Automation["event"];

export interface ConditionDraft {
  field: string;
  op: string;
  value: string;
}

export interface ActionDraft {
  type: string;
  value: string;
}

export interface RuleDraft {
  name: string;
  event: RuleEvent;
  conditions: ConditionDraft[];
  actions: ActionDraft[];
}

/** The operators a field takes: sentiment compares (an integer), the others
 * match text; `in` takes a comma-separated list. */
export function opsFor(field: string): string[] {
  return field === "sentiment" ? ["eq", "ne", "lt", "gt"] : ["eq", "ne", "contains", "in"];
}

/** The actions a rule of this event may have: auto_triage runs on creation only. */
export function actionsFor(event: RuleEvent): string[] {
  return ACTION_TYPES.filter((t) => event === "ticket.created" || t !== "auto_triage");
}

/** The value a new action of this type starts with. */
export function defaultActionValue(type: string): string {
  if (type === "set_priority") return "high";
  if (type === "set_status") return "open";
  if (type === "auto_triage") return "0.8";
  return "";
}

export function emptyCondition(): ConditionDraft {
  return { field: "subject", op: "contains", value: "" };
}

export function emptyAction(type = "set_priority"): ActionDraft {
  return { type, value: defaultActionValue(type) };
}

export function emptyRule(): RuleDraft {
  return { name: "", event: "ticket.created", conditions: [emptyCondition()], actions: [emptyAction()] };
}

/** A condition whose field changed keeps its operator only when the new field takes it. */
export function withField(c: ConditionDraft, field: string): ConditionDraft {
  const ops = opsFor(field);
  return { ...c, field, op: ops.includes(c.op) ? c.op : ops[0] };
}

/** A rule whose event changed drops the actions that event may not have. */
export function withEvent(r: RuleDraft, event: RuleEvent): RuleDraft {
  const allowed = actionsFor(event);
  const actions = r.actions.filter((a) => allowed.includes(a.type));
  return { ...r, event, actions: actions.length ? actions : [emptyAction()] };
}

/** The rule as the editor shows it. */
export function draftOf(a: Automation): RuleDraft {
  return {
    name: a.name,
    event: a.event,
    conditions: a.conditions.map((c) => ({ field: c.field, op: c.op, value: Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "") })),
    actions: a.actions.map((x) => ({ type: x.type, value: String(x.value ?? "") })),
  };
}

/** The body of POST or PATCH /v1/automations: a condition left without a
 * value is dropped (an empty list: the rule always runs). */
export function ruleBody(r: RuleDraft) {
  return {
    name: r.name.trim(),
    event: r.event,
    conditions: r.conditions
      .filter((c) => c.value.trim() !== "")
      .map((c) => ({
        field: c.field,
        op: c.op,
        value:
          c.op === "in"
            ? c.value
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean)
            : c.value.trim(),
      })),
    actions: r.actions.map((a) => ({ type: a.type, value: a.value.trim() })),
  };
}

/** The index in the body of each row of the editor (null: the row is not sent). */
export function sentIndexes(conditions: ConditionDraft[]): (number | null)[] {
  let n = 0;
  return conditions.map((c) => (c.value.trim() === "" ? null : n++));
}

/** The messages of a 422 about item i of list ("conditions" or "actions"),
 * whichever of its keys they name ("conditions[1].value": "value …"). */
export function itemMessage(err: unknown, list: "conditions" | "actions", i: number | null): string {
  if (!(err instanceof ApiError) || i === null) return "";
  const prefix = `${list}[${i}]`;
  return err.fieldErrors
    .filter((e) => e.field === prefix || e.field.startsWith(`${prefix}.`))
    .map((e) => (e.field === prefix ? e.message : keyProblem(e.field.slice(prefix.length + 1), e.message)))
    .join("; ");
}

const KEY_WORDS: Record<string, string> = { field: "field", op: "operator", value: "value", type: "type" };

/** "value" + "is not valid…" → "value is not valid…"; another sentence gets a colon. */
function keyProblem(key: string, message: string): string {
  const word = KEY_WORDS[key] ?? key;
  return /^(is|must|needs) /.test(message) ? `${word} ${message}` : `${word}: ${message}`;
}

/** A condition in words: `subject contains "printer"`. */
export function conditionText(c: { field: string; op: string; value: unknown }): string {
  const v = Array.isArray(c.value) ? `one of ${c.value.map((x) => JSON.stringify(x)).join(", ")}` : JSON.stringify(c.value);
  return `${c.field} ${c.op} ${v}`;
}

/** The rule in words, for the list. */
export function ruleText(a: Pick<Automation, "event" | "conditions" | "actions">): string {
  const when = a.conditions.map(conditionText).join(" and ") || "always";
  const then = a.actions.map((x) => (x.type === "auto_triage" ? `auto_triage at confidence ≥ ${String(x.value)}` : `${x.type} ${String(x.value)}`)).join(", ");
  return `on ${a.event}: ${when} → ${then}`;
}
