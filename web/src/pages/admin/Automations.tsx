// Automation rules (admins; docs/web.md, "Automations"): the list, on/off,
// delete, and one editor for a new rule or a change (PATCH with If-Match)
// with any number of conditions (all must hold) and actions; the API's
// field errors are shown under the row they name.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useApi } from "../../api/context";
import { ApiError, conflictText, fieldMessage } from "../../api/errors";
import { PRIORITIES, STATUSES, type Automation, type Page } from "../../api/types";
import { ConflictBox, ErrorBox, Field, FieldProblem, Loading, Notice } from "../../components/ui";
import {
  actionsFor,
  CONDITION_FIELDS,
  draftOf,
  emptyAction,
  emptyCondition,
  emptyRule,
  itemMessage,
  MAX_ITEMS,
  opsFor,
  ruleBody,
  ruleText,
  sentIndexes,
  withEvent,
  withField,
  defaultActionValue,
  type ActionDraft,
  type ConditionDraft,
  type RuleDraft,
  type RuleEvent,
} from "./rules";

export function Automations() {
  const api = useApi();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ["automations"], queryFn: ({ signal }) => api.get<Page<Automation>>("/v1/automations", { limit: 100 }, signal) });
  const refresh = () => qc.invalidateQueries({ queryKey: ["automations"] });
  const [editing, setEditing] = useState<Automation | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const toggle = useMutation({
    mutationFn: (a: Automation) => api.patch<Automation>(`/v1/automations/${a.id}`, { active: !a.active }, a.version),
    onSuccess: refresh,
    onError: (err) => {
      if (err instanceof ApiError && err.status === 412) setNotice(conflictText("rule", 0));
      refresh();
    },
  });
  const remove = useMutation({ mutationFn: (a: Automation) => api.del(`/v1/automations/${a.id}`), onSuccess: refresh });
  const saved = (a: Automation, verb: string) => {
    setNotice(`Rule “${a.name}” ${verb}.`);
    setEditing(null);
    refresh();
  };
  return (
    <div className="card space-y-3">
      <h2 className="font-semibold">Automations</h2>
      <p className="text-sm text-slate-600">
        Rules run when a ticket is created or updated: when all of a rule&apos;s conditions hold, each of its actions is applied in order.
      </p>
      {list.isPending && <Loading />}
      <ErrorBox error={list.error ?? toggle.error ?? remove.error} />
      {notice && <Notice>{notice}</Notice>}
      <ul className="space-y-2 text-sm" aria-label="Automations">
        {(list.data?.items ?? []).map((a) => (
          <li key={a.id} className="flex flex-wrap items-center gap-2 border-b border-slate-100 pb-2">
            <span className="font-medium">{a.name}</span>
            <span className="text-slate-600">{ruleText(a)}</span>
            {!a.active && <span className="badge bg-slate-100 text-slate-700">off</span>}
            <span className="ml-auto flex gap-2">
              <button type="button" className="btn-secondary" onClick={() => setEditing(a)} aria-label={`Change the rule ${a.name}`}>
                Change
              </button>
              <button type="button" className="btn-secondary" onClick={() => toggle.mutate(a)}>
                {a.active ? "Turn off" : "Turn on"}
              </button>
              <button type="button" className="btn-danger" onClick={() => window.confirm(`Delete the rule “${a.name}”?`) && remove.mutate(a)}>
                Delete
              </button>
            </span>
          </li>
        ))}
        {list.isSuccess && list.data.items.length === 0 && <li className="text-slate-600">No rules yet.</li>}
      </ul>
      {editing ? (
        <RuleEditor key={`${editing.id}-${editing.version}`} rule={editing} onSaved={(a) => saved(a, "saved")} onCancel={() => setEditing(null)} />
      ) : (
        <RuleEditor key="new" onSaved={(a) => saved(a, "added")} />
      )}
    </div>
  );
}

function RuleEditor({ rule, onSaved, onCancel }: { rule?: Automation; onSaved: (a: Automation) => void; onCancel?: () => void }) {
  const api = useApi();
  const qc = useQueryClient();
  const [draft, setDraft] = useState<RuleDraft>(() => (rule ? draftOf(rule) : emptyRule()));
  const [conflict, setConflict] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: ReturnType<typeof ruleBody>) =>
      rule ? api.patch<Automation>(`/v1/automations/${rule.id}`, body, rule.version) : api.post<Automation>("/v1/automations", { ...body, active: true }),
    onSuccess: (a) => {
      if (!rule) setDraft(emptyRule());
      onSaved(a);
    },
    onError: (err) => {
      if (rule && err instanceof ApiError && err.status === 412) {
        setConflict(conflictText("rule", rule.version ?? 0));
        void qc.invalidateQueries({ queryKey: ["automations"] });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setConflict(null);
    save.mutate(ruleBody(draft));
  };
  const prefix = rule ? `r-${rule.id}` : "r-new";
  const title = rule ? `Change the rule “${rule.name}”` : "Add a rule";
  const nameError = fieldMessage(save.error, "name");
  const sent = sentIndexes(draft.conditions);
  const setCondition = (i: number, c: ConditionDraft) => setDraft({ ...draft, conditions: draft.conditions.map((x, k) => (k === i ? c : x)) });
  const setAction = (i: number, a: ActionDraft) => setDraft({ ...draft, actions: draft.actions.map((x, k) => (k === i ? a : x)) });
  return (
    <form className="space-y-3 border-t border-slate-200 pt-3" onSubmit={submit} aria-labelledby={`${prefix}-title`} data-testid="rule-editor">
      <h3 id={`${prefix}-title`} className="font-medium">
        {title}
      </h3>
      <div className="grid grid-cols-1 gap-2 md:grid-cols-2">
        <Field id={`${prefix}-name`} label="Name">
          <input
            id={`${prefix}-name`}
            className="input"
            required
            value={draft.name}
            onChange={(e) => setDraft({ ...draft, name: e.target.value })}
            aria-invalid={nameError ? true : undefined}
            aria-describedby={nameError ? `${prefix}-name-error` : undefined}
          />
          <FieldProblem id={`${prefix}-name-error`} text={nameError} />
        </Field>
        <Field id={`${prefix}-event`} label="When a ticket is">
          <select id={`${prefix}-event`} className="input" value={draft.event} onChange={(e) => setDraft(withEvent(draft, e.target.value as RuleEvent))}>
            <option value="ticket.created">created</option>
            <option value="ticket.updated">updated</option>
          </select>
          <FieldProblem id={`${prefix}-event-error`} text={fieldMessage(save.error, "event")} />
        </Field>
      </div>
      <fieldset className="space-y-2" aria-describedby={`${prefix}-cond-help`}>
        <legend className="label">Conditions</legend>
        <p id={`${prefix}-cond-help`} className="text-xs text-slate-600">
          All of them must hold (a row left without a value is not kept; no condition: always). “in” takes values separated by commas; sentiment compares a
          whole number such as -3.
        </p>
        {draft.conditions.map((c, i) => (
          <ConditionRow
            key={i}
            id={`${prefix}-c${i}`}
            n={i + 1}
            cond={c}
            problem={itemMessage(save.error, "conditions", sent[i])}
            onChange={(x) => setCondition(i, x)}
            onRemove={() => setDraft({ ...draft, conditions: draft.conditions.filter((_, k) => k !== i) })}
          />
        ))}
        <FieldProblem id={`${prefix}-conditions-error`} text={fieldMessage(save.error, "conditions")} />
        <button
          type="button"
          className="btn-secondary"
          disabled={draft.conditions.length >= MAX_ITEMS}
          onClick={() => setDraft({ ...draft, conditions: [...draft.conditions, emptyCondition()] })}
        >
          Add a condition
        </button>
      </fieldset>
      <fieldset className="space-y-2">
        <legend className="label">Actions</legend>
        {draft.actions.map((a, i) => (
          <ActionRow
            key={i}
            id={`${prefix}-a${i}`}
            n={i + 1}
            action={a}
            types={actionsFor(draft.event)}
            removable={draft.actions.length > 1}
            problem={itemMessage(save.error, "actions", i)}
            onChange={(x) => setAction(i, x)}
            onRemove={() => setDraft({ ...draft, actions: draft.actions.filter((_, k) => k !== i) })}
          />
        ))}
        <FieldProblem id={`${prefix}-actions-error`} text={fieldMessage(save.error, "actions")} />
        <button
          type="button"
          className="btn-secondary"
          disabled={draft.actions.length >= MAX_ITEMS}
          onClick={() => setDraft({ ...draft, actions: [...draft.actions, emptyAction("add_tag")] })}
        >
          Add an action
        </button>
      </fieldset>
      <ConflictBox text={conflict} />
      {!conflict && <ErrorBox error={save.error} />}
      <div className="flex gap-2">
        <button type="submit" className="btn" disabled={save.isPending}>
          {rule ? "Save rule" : "Add rule"}
        </button>
        {onCancel && (
          <button type="button" className="btn-secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

interface RowProps {
  id: string;
  n: number;
  problem: string;
  onRemove: () => void;
}

function ConditionRow({ id, n, cond, problem, onChange, onRemove }: RowProps & { cond: ConditionDraft; onChange: (c: ConditionDraft) => void }) {
  return (
    <div className="rounded-md border border-slate-200 p-2" role="group" aria-label={`Condition ${n}`}>
      <div className="grid grid-cols-1 gap-2 sm:grid-cols-[1fr_1fr_2fr_auto] sm:items-end">
        <Field id={`${id}-field`} label={`Condition ${n} field`}>
          <select id={`${id}-field`} className="input" value={cond.field} onChange={(e) => onChange(withField(cond, e.target.value))}>
            {CONDITION_FIELDS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-op`} label={`Condition ${n} operator`}>
          <select id={`${id}-op`} className="input" value={cond.op} onChange={(e) => onChange({ ...cond, op: e.target.value })}>
            {opsFor(cond.field).map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-value`} label={`Condition ${n} value`}>
          <input
            id={`${id}-value`}
            className="input"
            inputMode={cond.field === "sentiment" ? "numeric" : undefined}
            value={cond.value}
            onChange={(e) => onChange({ ...cond, value: e.target.value })}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? `${id}-error` : undefined}
          />
        </Field>
        <button type="button" className="btn-secondary" onClick={onRemove} aria-label={`Remove condition ${n}`}>
          Remove
        </button>
      </div>
      <FieldProblem id={`${id}-error`} text={problem} />
    </div>
  );
}

function ActionRow(props: RowProps & { action: ActionDraft; types: string[]; removable: boolean; onChange: (a: ActionDraft) => void }) {
  const { id, n, action, problem, onChange } = props;
  const described = { "aria-invalid": problem ? true : undefined, "aria-describedby": problem ? `${id}-error` : undefined } as const;
  const choices = action.type === "set_priority" ? PRIORITIES : action.type === "set_status" ? STATUSES : null;
  return (
    <div className="rounded-md border border-slate-200 p-2" role="group" aria-label={`Action ${n}`}>
      <div className="grid grid-cols-1 gap-2 sm:grid-cols-[1fr_2fr_auto] sm:items-end">
        <Field id={`${id}-type`} label={`Action ${n} type`}>
          <select
            id={`${id}-type`}
            className="input"
            value={action.type}
            onChange={(e) => onChange({ type: e.target.value, value: defaultActionValue(e.target.value) })}
          >
            {props.types.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-value`} label={`Action ${n} ${actionValueLabel(action.type)}`}>
          {choices ? (
            <select id={`${id}-value`} className="input" value={action.value} onChange={(e) => onChange({ ...action, value: e.target.value })} {...described}>
              {choices.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          ) : (
            <input
              id={`${id}-value`}
              className="input"
              required
              type={action.type === "auto_triage" ? "number" : "text"}
              step={action.type === "auto_triage" ? "any" : undefined}
              value={action.value}
              onChange={(e) => onChange({ ...action, value: e.target.value })}
              {...described}
            />
          )}
        </Field>
        <button type="button" className="btn-secondary" disabled={!props.removable} onClick={props.onRemove} aria-label={`Remove action ${n}`}>
          Remove
        </button>
      </div>
      <FieldProblem id={`${id}-error`} text={problem} />
    </div>
  );
}

/** What the value of an action is, in words. */
function actionValueLabel(type: string): string {
  switch (type) {
    case "auto_triage":
      return "confidence threshold (0–1)";
    case "assign":
      return "user id";
    case "notify_webhook":
      return "https URL";
    default:
      return "value";
  }
}
