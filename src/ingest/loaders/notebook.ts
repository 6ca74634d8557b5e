// Jupyter notebooks (.ipynb): the cells in order, Markdown cells as written and code cells as fenced code in the
// kernel's language, read through the Markdown loader so headings in the notes build the heading path. Outputs
// are left out: they are mostly data, images and tracebacks, and re-running a cell changes them.
import { z } from 'zod';
import { fencedBlock } from '../../util/backticks.js';
import { loadMarkdown } from './markdown.js';
import { skipped, type LoadResult } from './result.js';

const Source = z.union([z.string(), z.array(z.string())]).transform((s) => (Array.isArray(s) ? s.join('') : s));

const Notebook = z.object({
  cells: z.array(z.object({ cell_type: z.string(), source: Source.default('') })),
  metadata: z
    .object({
      language_info: z.object({ name: z.string() }).partial().passthrough().optional(),
      kernelspec: z.object({ language: z.string() }).partial().passthrough().optional(),
    })
    .passthrough()
    .optional(),
});

/** The kernel's language (language_info, else the kernelspec's), or null when the notebook names none. */
function kernelLanguage(notebook: z.infer<typeof Notebook>): string | null {
  return notebook.metadata?.language_info?.name ?? notebook.metadata?.kernelspec?.language ?? null;
}

/** The notebook as Markdown: what the Markdown loader then splits into blocks. */
export function notebookMarkdown(notebook: z.infer<typeof Notebook>): string {
  const language = kernelLanguage(notebook) ?? '';
  const parts: string[] = [];
  for (const cell of notebook.cells) {
    const source = cell.source.replace(/\s+$/, '');
    if (source.trim() === '') continue;
    if (cell.cell_type === 'markdown') parts.push(source);
    else if (cell.cell_type === 'code') {
      parts.push(fencedBlock(source, language));
    } else parts.push(source); // raw cells: text as written
  }
  return parts.join('\n\n');
}

export function loadNotebook(filePath: string, text: string): LoadResult {
  let parsed: z.infer<typeof Notebook>;
  try {
    const result = Notebook.safeParse(JSON.parse(text));
    if (!result.success) throw new Error(result.error.issues[0]?.message ?? 'not a notebook');
    parsed = result.data;
  } catch (err) {
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} is not a readable Jupyter notebook (${(err as Error).message}); skipped.`);
  }
  const markdown = notebookMarkdown(parsed);
  if (markdown.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} has no cells with text; skipped.`);
  const document = loadMarkdown(filePath, markdown);
  return { documents: [{ ...document, kind: 'notebook', language: kernelLanguage(parsed), metadata: { ...document.metadata, cells: parsed.cells.length } }], problems: [] };
}
