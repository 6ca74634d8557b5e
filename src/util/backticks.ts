// Code set in Markdown: a run of backticks longer than any run inside the code (CommonMark), so the code can never
// close its own fence or inline span early. Used for notebook cells at ingest, code passages in the prompt and code
// quoted in an extractive answer.

/** Backticks longer than every backtick run in `code`, and at least `shortest` long. */
function backtickRun(code: string, shortest: number): string {
  const longest = Math.max(0, ...(code.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(shortest, longest + 1));
}

/** A fenced code block, its info string naming the language ('' for none). */
export function fencedBlock(code: string, info: string): string {
  const fence = backtickRun(code, 3);
  return `${fence}${info}\n${code}\n${fence}`;
}

/** Inline code; padded with a space where the code itself starts or ends with a backtick. */
export function inlineCode(code: string): string {
  const fence = backtickRun(code, 1);
  const pad = code.startsWith('`') || code.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${code}${pad}${fence}`;
}
