// Word (.docx): mammoth turns the document's paragraphs, headings (by paragraph style), lists and tables into
// HTML, and the HTML loader turns that into blocks with heading paths. mammoth is imported only when a .docx is met.
import { skipped, type LoadResult } from './result.js';
import { lazy } from '../../util/lazy.js';
import { loadHtml } from './html.js';

interface Mammoth {
  convertToHtml(input: { buffer: Buffer }): Promise<{ value: string }>;
}

// mammoth is CommonJS: its functions arrive on the default export.
const loadMammoth = lazy(() => import('mammoth').then((m) => (m as unknown as { default: Mammoth }).default));

export async function loadDocx(filePath: string, bytes: Buffer): Promise<LoadResult> {
  let html: string;
  try {
    html = (await (await loadMammoth()).convertToHtml({ buffer: bytes })).value;
  } catch (err) {
    return skipped(
      filePath,
      'FILE_UNREADABLE',
      `${filePath} could not be read as a Word document (${(err as Error).message}); re-save it as .docx to index it. Skipped.`,
    );
  }
  const document = loadHtml(filePath, html);
  if (document.text.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} has no text; skipped.`);
  return { documents: [{ ...document, kind: 'docx' }], problems: [] };
}
