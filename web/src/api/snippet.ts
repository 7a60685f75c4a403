// A search hit's snippet (docs/openapi.yaml, SearchHit) is HTML-escaped text
// with the matched words in <mark>…</mark>. The console never puts server
// text in the page as HTML: it splits on the two tags and unescapes the
// rest, so anything else, tags included, is drawn as text.

export interface SnippetPart {
  text: string;
  mark: boolean;
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'" };

function unescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (e) => ENTITIES[e]);
}

export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let mark = false;
  for (const piece of snippet.split(/(<mark>|<\/mark>)/)) {
    if (piece === "<mark>") mark = true;
    else if (piece === "</mark>") mark = false;
    else if (piece) parts.push({ text: unescape(piece), mark });
  }
  return parts;
}
