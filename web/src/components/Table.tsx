// The frame of every data table: a bordered, scrollable box, a labelled
// table and its header row; the page draws the rows (docs/web.md). The box
// is positioned, so that what is absolutely placed in a cell (the sr-only
// labels of a row's controls) scrolls with it instead of widening the page
// on a phone.
import type { ReactNode, Ref } from "react";

export interface Column {
  label: string;
  /** a column a phone has no room for: shown from the md breakpoint up */
  wide?: boolean;
  /** read by screen readers only (e.g. an actions column) */
  hidden?: boolean;
}

export function TableFrame(props: {
  label: string;
  columns: Column[];
  children: ReactNode;
  /** a header that stays in view while the box scrolls (a long list) */
  sticky?: boolean;
  scrollerRef?: Ref<HTMLDivElement>;
  className?: string;
  rowCount?: number;
  testId?: string;
  loaded?: number;
}) {
  return (
    <div
      ref={props.scrollerRef}
      className={`relative overflow-auto rounded-lg border border-slate-200 bg-white ${props.className ?? ""}`}
      data-testid={props.testId}
      data-loaded={props.loaded}
    >
      <table className="w-full text-left text-sm" aria-label={props.label} aria-rowcount={props.rowCount}>
        <thead className={`bg-slate-100 text-xs uppercase text-slate-600 ${props.sticky ? "sticky top-0 z-10" : ""}`}>
          <tr>
            {props.columns.map((c) => (
              <th key={c.label} scope="col" className={`px-3 py-2 ${c.wide ? "hidden md:table-cell" : ""}`}>
                {c.hidden ? <span className="sr-only">{c.label}</span> : c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** The one row a table shows when it has nothing to list. */
export function EmptyRow({ columns, children }: { columns: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={columns} className="px-3 py-6 text-center text-slate-600">
        {children}
      </td>
    </tr>
  );
}
