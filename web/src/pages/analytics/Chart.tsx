// The analytics charts drawn as plain SVG (chart.ts gives the geometry): a
// bar per bucket, or a line with its prediction band. Each chart has a text
// alternative and its figures in a table for the keyboard and screen readers.
import { bandPath, bars, FRAME, labelSlots, linePath, niceCeil, ticks, xOf, yOf } from "./chart";

export interface Series {
  labels: string[];
  values: number[];
  lows?: number[];
  highs?: number[];
}

function Axes({ top, labels }: { top: number; labels: string[] }) {
  return (
    <g fontSize={11} fill="#475569">
      {ticks(top).map((v) => (
        <g key={v}>
          <line x1={FRAME.left} x2={FRAME.width - FRAME.right} y1={yOf(v, top)} y2={yOf(v, top)} stroke="#e2e8f0" />
          <text x={FRAME.left - 6} y={yOf(v, top) + 4} textAnchor="end">
            {Number.isInteger(v) ? v : Number(v.toFixed(2))}
          </text>
        </g>
      ))}
      {labelSlots(labels.length).map((i) => (
        <text key={i} x={xOf(i, labels.length)} y={FRAME.height - 8} textAnchor="middle">
          {labels[i]}
        </text>
      ))}
    </g>
  );
}

/** Bars (counts per bucket) or, with lows and highs, a line in its band. */
export function Chart({ title, series, testId }: { title: string; series: Series; testId: string }) {
  const { labels, values, lows, highs } = series;
  const top = niceCeil(Math.max(0, ...values, ...(highs ?? [])));
  const total = values.reduce((a, b) => a + b, 0);
  const summary = `${title}: ${values.length} points, total ${Math.round(total * 10) / 10}, highest ${Math.max(0, ...values)}`;
  return (
    <figure className="space-y-2">
      <svg
        viewBox={`0 0 ${FRAME.width} ${FRAME.height}`}
        className="h-auto w-full"
        role="img"
        aria-label={summary}
        data-testid={testId}
        data-points={values.length}
      >
        <Axes top={top} labels={labels} />
        {lows && highs ? (
          <>
            <path d={bandPath(lows, highs, top)} fill="#c7d2fe" opacity={0.6} />
            <path d={linePath(values, top)} fill="none" stroke="#4338ca" strokeWidth={2} />
          </>
        ) : (
          bars(values, top).map((b, i) => (
            <rect key={i} x={b.x} y={b.y} width={b.width} height={b.height} fill="#4f46e5">
              <title>{`${labels[i]}: ${values[i]}`}</title>
            </rect>
          ))
        )}
      </svg>
      <details className="text-sm">
        <summary className="cursor-pointer text-indigo-800">The figures as a table</summary>
        <div className="max-h-64 overflow-auto">
          <table className="mt-2 w-full text-left" aria-label={title}>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Value</th>
                {lows && <th scope="col">95 % range</th>}
              </tr>
            </thead>
            <tbody>
              {labels.map((l, i) => (
                <tr key={i}>
                  <td>{l}</td>
                  <td>{Math.round(values[i] * 10) / 10}</td>
                  {lows && highs && <td>{`${Math.round(lows[i] * 10) / 10} – ${Math.round(highs[i] * 10) / 10}`}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
