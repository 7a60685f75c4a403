// The dispatch board (admins and agents; docs/web.md, "Dispatch board"):
// technicians and open work orders drawn by their coordinates on a plain
// SVG plot (no map tiles: nothing is fetched from outside), the lines from
// each assigned work order to its technician, and beside it the lists that
// carry the same facts for the keyboard and screen readers, with dispatch:
// the nearest qualified technician, or one chosen by hand (candidates.ts).
import { useState } from "react";
import { Link } from "react-router";
import type { Technician, User, WorkOrder } from "../../api/types";
import { nameOf, useUsers } from "../../api/users";
import { ErrorBox, Loading, PageTitle, when } from "../../components/ui";
import { candidates, candidateText } from "./candidates";
import { statusBadgeClass, statusText, technicianName, useTechnicians, useWorkOrders } from "./data";
import { fitProjection, type Project } from "./plot";
import { DispatchResult, useDispatch } from "./WorkOrderDetail";

const BOX = { width: 800, height: 480, margin: 40 };
const ACTIVE = new Set(["unassigned", "scheduled", "en_route", "on_site"]);

const ORDER_FILL: Record<string, string> = { unassigned: "#dc2626", scheduled: "#0284c7", en_route: "#7c3aed", on_site: "#d97706" };

export function Board() {
  const techs = useTechnicians({ live: true });
  const orders = useWorkOrders();
  const users = useUsers();
  const [selected, setSelected] = useState<string | null>(null);
  if (techs.isPending || orders.isPending) return <Loading what="Loading the board" />;
  if (techs.isError || orders.isError) return <ErrorBox error={techs.error ?? orders.error} />;
  const placed = techs.data.filter((t) => t.location && t.active);
  const open = orders.data.filter((w) => ACTIVE.has(w.status));
  const project = fitProjection([...placed.map((t) => t.location!), ...open.map((w) => w.location)], BOX);
  return (
    <section className="space-y-4">
      <PageTitle>Dispatch board</PageTitle>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="card p-2 lg:col-span-2">
          <Plot techs={placed} orders={open} project={project} users={users.data} selected={selected} onSelect={setSelected} />
          <Legend />
        </div>
        <div className="space-y-4">
          <OrderList orders={open} techs={techs.data} users={users.data} selected={selected} onSelect={setSelected} />
          <TechList techs={placed} orders={open} users={users.data} />
        </div>
      </div>
    </section>
  );
}

function Plot(props: { techs: Technician[]; orders: WorkOrder[]; project: Project; users?: User[]; selected: string | null; onSelect: (id: string) => void }) {
  const { project } = props;
  const techAt = new Map(props.techs.map((t) => [t.id, project(t.location!)]));
  return (
    <svg
      viewBox={`0 0 ${BOX.width} ${BOX.height}`}
      className="h-auto w-full"
      role="img"
      aria-label={`Plot of ${props.techs.length} technicians and ${props.orders.length} open work orders by their coordinates, north up`}
      data-testid="board-plot"
    >
      <rect x={0} y={0} width={BOX.width} height={BOX.height} fill="#f8fafc" />
      {props.orders.map((w) => {
        const from = project(w.location);
        const to = w.technician_id ? techAt.get(w.technician_id) : undefined;
        return to ? (
          <line
            key={`l-${w.id}`}
            x1={from.x}
            y1={from.y}
            x2={to.x}
            y2={to.y}
            stroke={w.id === props.selected ? "#4338ca" : "#94a3b8"}
            strokeWidth={w.id === props.selected ? 3 : 1.5}
            strokeDasharray="6 4"
          />
        ) : null;
      })}
      {props.techs.map((t) => {
        const p = project(t.location!);
        return (
          <g key={t.id} data-testid="board-technician" data-technician={t.id} data-at={`${t.location!.lat},${t.location!.lon}`}>
            <circle cx={p.x} cy={p.y} r={9} fill={t.available ? "#16a34a" : "#94a3b8"} stroke="#fff" strokeWidth={2}>
              <title>{`${nameOf(props.users, t.user_id)} (${t.skills.join(", ") || "no skills"})${t.available ? "" : ", not available"}`}</title>
            </circle>
            <text x={p.x + 12} y={p.y + 4} fontSize={12} fill="#334155">
              {nameOf(props.users, t.user_id)}
            </text>
          </g>
        );
      })}
      {props.orders.map((w) => {
        const p = project(w.location);
        const size = w.id === props.selected ? 18 : 14;
        return (
          <rect
            key={w.id}
            data-testid="board-order"
            x={p.x - size / 2}
            y={p.y - size / 2}
            width={size}
            height={size}
            fill={ORDER_FILL[w.status]}
            stroke={w.id === props.selected ? "#1e1b4b" : "#fff"}
            strokeWidth={2}
            onClick={() => props.onSelect(w.id)}
          >
            <title>{`${w.title}: ${statusText(w.status)}, ${when(w.window.start)}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

function Legend() {
  const items: [string, string, boolean][] = [
    ["#16a34a", "technician, available", true],
    ["#94a3b8", "technician, not available", true],
    ...Object.entries(ORDER_FILL).map(([s, c]) => [c, `work order, ${statusText(s as WorkOrder["status"])}`, false] as [string, string, boolean]),
  ];
  return (
    <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700" aria-label="Legend">
      {items.map(([colour, label, round]) => (
        <li key={label} className="flex items-center gap-1">
          <svg width="12" height="12" aria-hidden="true">
            {round ? <circle cx={6} cy={6} r={5} fill={colour} /> : <rect x={1} y={1} width={10} height={10} fill={colour} />}
          </svg>
          {label}
        </li>
      ))}
    </ul>
  );
}

function OrderList(props: { orders: WorkOrder[]; techs: Technician[]; users?: User[]; selected: string | null; onSelect: (id: string) => void }) {
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Open work orders</h2>
      <ul className="space-y-2 text-sm" aria-label="Open work orders">
        {props.orders.map((w) => (
          <li key={w.id} className={`rounded-md border p-2 ${w.id === props.selected ? "border-indigo-500 bg-indigo-50" : "border-slate-200"}`}>
            <div className="flex flex-wrap items-center gap-2">
              <Link className="font-medium text-indigo-800 hover:underline" to={`/field/work-orders/${w.id}`} onFocus={() => props.onSelect(w.id)}>
                {w.title}
              </Link>
              <span className={statusBadgeClass(w.status)}>{statusText(w.status)}</span>
            </div>
            <div className="text-slate-600">
              {when(w.window.start)} · {w.technician_id ? technicianName(props.techs, props.users, w.technician_id) : "nobody yet"}
            </div>
            {w.status === "unassigned" && <DispatchButton wo={w} techs={props.techs} orders={props.orders} users={props.users} />}
          </li>
        ))}
        {props.orders.length === 0 && <li className="text-slate-600">No open work order.</li>}
      </ul>
    </div>
  );
}

function DispatchButton({ wo, techs, orders, users }: { wo: WorkOrder; techs: Technician[]; orders: WorkOrder[]; users?: User[] }) {
  const send = useDispatch(wo);
  const [chosen, setChosen] = useState("");
  const options = candidates(wo, techs, orders);
  const pick = `pick-${wo.id}`;
  return (
    <div className="mt-1 space-y-1">
      <ErrorBox error={send.error} />
      {send.isSuccess && <DispatchResult wo={send.data} />}
      <div className="flex flex-wrap items-end gap-2">
        <button type="button" className="btn-secondary" disabled={send.isPending} onClick={() => send.mutate(undefined)} aria-label={`Dispatch ${wo.title}`}>
          Dispatch nearest
        </button>
        <label className="sr-only" htmlFor={pick}>
          Technician for {wo.title}
        </label>
        <select id={pick} className="input w-auto max-w-full py-1" value={chosen} onChange={(e) => setChosen(e.target.value)}>
          <option value="">{options.length ? "or choose…" : "nobody qualifies"}</option>
          {options.map((c) => (
            <option key={c.tech.id} value={c.tech.id}>
              {candidateText(nameOf(users, c.tech.user_id), c)}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="btn-secondary"
          disabled={send.isPending || !chosen}
          onClick={() => send.mutate(chosen)}
          aria-label={`Send the chosen technician to ${wo.title}`}
        >
          Send
        </button>
      </div>
    </div>
  );
}

function TechList({ techs, orders, users }: { techs: Technician[]; orders: WorkOrder[]; users?: User[] }) {
  return (
    <div className="card space-y-2">
      <h2 className="font-semibold">Technicians on the board</h2>
      <ul className="space-y-1 text-sm" aria-label="Technicians on the board">
        {techs.map((t) => (
          <li key={t.id} className="flex flex-wrap gap-2">
            <Link className="text-indigo-800 hover:underline" to={`/field/technicians/${t.id}`}>
              {nameOf(users, t.user_id)}
            </Link>
            <span className="text-slate-600">
              {t.available ? "available" : "not available"} · {orders.filter((w) => w.technician_id === t.id).length} open work orders
            </span>
          </li>
        ))}
        {techs.length === 0 && <li className="text-slate-600">No technician has a position yet.</li>}
      </ul>
    </div>
  );
}
