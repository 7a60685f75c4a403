import { describe, expect, it } from "vitest";
import { snippetParts } from "./snippet";

describe("search snippets", () => {
  it("marks the matched words and unescapes the rest", () => {
    expect(snippetParts("Shake the <mark>toner</mark> &amp; wipe &lt;gently&gt;")).toEqual([
      { text: "Shake the ", mark: false },
      { text: "toner", mark: true },
      { text: " & wipe <gently>", mark: false },
    ]);
  });

  it("keeps any other markup as text, never as HTML", () => {
    expect(snippetParts("&lt;img src=x onerror=alert(1)&gt; <b>bold</b> &quot;q&quot; &#39;s")).toEqual([
      { text: '<img src=x onerror=alert(1)> <b>bold</b> "q" \'s', mark: false },
    ]);
  });

  it("an empty snippet has no parts", () => {
    expect(snippetParts("")).toEqual([]);
    expect(snippetParts("<mark></mark>")).toEqual([]);
  });
});
