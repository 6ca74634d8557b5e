// EPUB books: the chapters in reading order (the package's spine), each read by the HTML loader, joined into one
// document whose heading path starts at each chapter's own headings; the title from the package's metadata.
// jszip reads the container and is imported only when an .epub is met.
import path from 'node:path';
import { parseDocument } from 'htmlparser2';
import type { Block, LoadedDocument } from '../../types.js';
import { lazy } from '../../util/lazy.js';
import { loadHtml } from './html.js';
import { skipped, type LoadResult } from './result.js';

interface ZipArchive {
  file(name: string): { async(type: 'string'): Promise<string> } | null;
}
interface JsZip {
  loadAsync(data: Uint8Array): Promise<ZipArchive>;
}

// jszip is CommonJS: its class arrives on the default export.
const loadJsZip = lazy(() => import('jszip').then((m) => (m as unknown as { default: JsZip }).default));

/** Elements of an XML document by local name (namespace prefixes like `dc:` or `opf:` ignored). */
function elements(xml: string, localName: string): Array<{ attribs: Record<string, string>; text: string }> {
  const found: Array<{ attribs: Record<string, string>; text: string }> = [];
  const visit = (node: { type?: string; name?: string; attribs?: Record<string, string>; children?: unknown[] }): void => {
    if (node.type === 'tag' && node.name !== undefined && node.name.replace(/^.*:/, '') === localName) {
      found.push({ attribs: node.attribs ?? {}, text: textOf(node) });
    }
    for (const child of node.children ?? []) visit(child as typeof node);
  };
  visit(parseDocument(xml, { xmlMode: true }) as unknown as Parameters<typeof visit>[0]);
  return found;
}

function textOf(node: { type?: string; data?: string; children?: unknown[] }): string {
  if (node.type === 'text') return node.data ?? '';
  return (node.children ?? []).map((c) => textOf(c as typeof node)).join('');
}

/** Reading order: the spine's items, as paths inside the archive. */
async function chapters(zip: ZipArchive): Promise<{ title: string | null; files: string[] }> {
  const container = await zip.file('META-INF/container.xml')?.async('string');
  if (container === undefined) throw new Error('no META-INF/container.xml');
  const packagePath = elements(container, 'rootfile')[0]?.attribs['full-path'];
  if (!packagePath) throw new Error('the container names no package document');
  const opf = await zip.file(packagePath)?.async('string');
  if (opf === undefined) throw new Error(`the package document ${packagePath} is missing`);
  const base = path.posix.dirname(packagePath);
  const hrefById = new Map(elements(opf, 'item').map((item) => [item.attribs['id'] ?? '', item.attribs['href'] ?? '']));
  const files = elements(opf, 'itemref')
    .filter((ref) => ref.attribs['linear'] !== 'no')
    .map((ref) => hrefById.get(ref.attribs['idref'] ?? ''))
    .filter((href): href is string => href !== undefined && href !== '')
    .map((href) => path.posix.normalize(path.posix.join(base, decodeURIComponent(href.replace(/#.*$/, '')))));
  const title = elements(opf, 'title')[0]?.text.trim() || null;
  return { title, files };
}

export async function loadEpub(filePath: string, bytes: Buffer): Promise<LoadResult> {
  let book: { title: string | null; parts: LoadedDocument[] };
  try {
    const zip = await (await loadJsZip()).loadAsync(bytes);
    const { title, files } = await chapters(zip);
    const parts: LoadedDocument[] = [];
    for (const file of files) {
      const html = await zip.file(file)?.async('string');
      if (html !== undefined) parts.push(loadHtml(`${filePath}#${file}`, html));
    }
    book = { title, parts };
  } catch (err) {
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} could not be read as an EPUB book (${(err as Error).message}); skipped.`);
  }
  let text = '';
  const blocks: Block[] = [];
  for (const part of book.parts) {
    if (part.text.trim() === '') continue;
    const offset = text === '' ? 0 : text.length + 2;
    text = text === '' ? part.text : `${text}\n\n${part.text}`;
    for (const b of part.blocks) blocks.push({ ...b, start: b.start + offset, end: b.end + offset });
  }
  if (text.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} has no text in its chapters; skipped.`);
  const document: LoadedDocument = {
    uri: filePath,
    externalId: null,
    title: book.title ?? path.basename(filePath),
    text,
    kind: 'epub',
    language: null,
    metadata: { chapters: book.parts.length },
    blocks,
  };
  return { documents: [document], problems: [] };
}
