// What a reader (an LLM, a person scanning results) is shown of a chunk's text. Chunks keep their source text,
// because citations and spans point into it; this is only the copy that is read.

/**
 * A passage without HTML comments: Markdown docs carry metadata in them (Node's `<!-- YAML added: v0.5.8 -->` under
 * every heading), which no reader should see or quote.
 */
export function readableText(text: string): string {
  return text.includes('<!--') ? text.replace(/<!--[\s\S]*?(?:-->|$)/g, '') : text;
}
