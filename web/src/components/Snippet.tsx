// A search hit's snippet with its matched words marked (api/snippet.ts).
import { snippetParts } from "../api/snippet";

export function Snippet({ text }: { text: string }) {
  return (
    <span className="text-slate-700">
      {snippetParts(text).map((p, i) =>
        p.mark ? (
          <mark key={i} className="bg-amber-100 text-slate-900">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </span>
  );
}
