// How a passage's pages read wherever it is shown (prompt, CLI, MCP): "p. 3" or "pp. 3–5".
import type { PageSpan } from '../types.js';

export function pageLabel(pages: PageSpan | undefined): string {
  if (pages === undefined) return '';
  return pages.first === pages.last ? `p. ${pages.first}` : `pp. ${pages.first}–${pages.last}`;
}

/** The span covering both (adjacent chunks merged into one context item). */
export function joinPages(a: PageSpan | undefined, b: PageSpan | undefined): PageSpan | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { first: Math.min(a.first, b.first), last: Math.max(a.last, b.last) };
}

/**
 * The headings to show after a document's title: without empty ones, and without a first heading that only
 * repeats the title, whatever its case (a Markdown file titled by its H1 would read "better-sqlite3 ›
 * better-sqlite3 › Installation"; Node's HTML docs, "Node.js Documentation › Node.js documentation › …").
 */
export function headingsAfterTitle(title: string, headingPath: readonly string[]): string[] {
  const headings = headingPath.filter((h) => h.trim() !== '');
  const same = (a: string, b: string) => a.replace(/\s+/g, ' ').trim().toLowerCase() === b.replace(/\s+/g, ' ').trim().toLowerCase();
  return headings.length > 0 && same(headings[0]!, title) ? headings.slice(1) : headings;
}

/** "Title › Heading › Sub, p. 3": where a passage is, as the CLI and the MCP tools print it. */
export function passageLocation(c: { title: string; headingPath: string[]; pages?: PageSpan }): string {
  const pages = pageLabel(c.pages);
  return [c.title, ...headingsAfterTitle(c.title, c.headingPath)].filter(Boolean).join(' › ') + (pages ? `, ${pages}` : '');
}
