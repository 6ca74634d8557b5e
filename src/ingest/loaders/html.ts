// HTML: the visible text of the page, one block per block-level element, blocks separated by blank lines in `text`.
// Scripts, styles, navigation and the head (except <title>) are dropped; h1–h6 build the heading path.
import path from 'node:path';
import { Parser } from 'htmlparser2';
import type { Block, LoadedDocument } from '../../types.js';

// Elements whose content is never visible text (or is site chrome rather than the page's content).
const SKIPPED = new Set([
  'script', 'style', 'noscript', 'template', 'svg', 'math', 'head', 'nav', 'iframe', 'object', 'embed', 'canvas',
  'select', 'datalist', 'audio', 'video', 'map',
]);

// A heading's permalink anchor ("¶" in Sphinx and MkDocs, "#" in Docusaurus and VitePress): site chrome that would
// end every heading name with a symbol.
const PERMALINK_CLASS = /(?:^|\s)(?:headerlink|header-anchor|hash-link|anchor-link|anchorjs-link|heading-anchor|permalink)(?:\s|$)/;

// Block-level elements: each starts and ends a block; the value is the block type of text directly inside.
const BLOCK_TYPES: Readonly<Record<string, Block['type']>> = {
  p: 'paragraph', div: 'paragraph', section: 'paragraph', article: 'paragraph', main: 'paragraph', body: 'paragraph',
  header: 'paragraph', footer: 'paragraph', aside: 'paragraph', figure: 'paragraph', figcaption: 'paragraph',
  address: 'paragraph', details: 'paragraph', summary: 'paragraph', form: 'paragraph', fieldset: 'paragraph',
  legend: 'paragraph', caption: 'paragraph', dl: 'paragraph', dt: 'paragraph', dd: 'paragraph', center: 'paragraph',
  html: 'paragraph', label: 'paragraph',
  ul: 'list', ol: 'list', li: 'list', menu: 'list',
  table: 'table', thead: 'table', tbody: 'table', tfoot: 'table', tr: 'table',
  pre: 'code', blockquote: 'other',
  h1: 'heading', h2: 'heading', h3: 'heading', h4: 'heading', h5: 'heading', h6: 'heading',
};

interface OpenElement {
  name: string;
  skips: boolean;
  isBlock: boolean;
  /** For a link to an anchor of the same page inside a heading: where its text starts among the segments. */
  selfAnchorAt?: number;
}

/** The text of a permalink: a symbol alone (Node's docs mark every heading with an <a href="#…">#</a>). */
const PERMALINK_TEXT = /^[\s¶§#🔗⚓]*$/u;

/** Text collected for the block being built; `raw` segments (inside <pre>) keep their whitespace. */
interface Segment {
  text: string;
  raw: boolean;
}

export function loadHtml(filePath: string, html: string): LoadedDocument {
  const stack: OpenElement[] = [];
  let skipDepth = 0;
  let preDepth = 0;
  let titleText: string | null = null;
  let inTitle = false;
  let titleBuffer = '';
  const metadata: Record<string, unknown> = {};

  let output = '';
  const blocks: Block[] = [];
  const headings: Array<{ level: number; text: string }> = [];
  let firstH1: string | null = null;
  let segments: Segment[] = [];

  const innermostBlockType = (): Block['type'] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const element = stack[i] as OpenElement;
      if (element.isBlock) return BLOCK_TYPES[element.name] ?? 'paragraph';
    }
    return 'paragraph';
  };

  const flush = (type: Block['type']): string | null => {
    const text = renderSegments(segments, type === 'code');
    segments = [];
    if (text === '') return null;
    if (type === 'heading') return text;
    appendBlock(text, type);
    return text;
  };

  const appendBlock = (text: string, type: Block['type']): void => {
    if (output !== '') output += '\n\n';
    const start = output.length;
    output += text;
    blocks.push({ start, end: output.length, headingPath: headings.map((h) => h.text), type });
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const hidden =
          'hidden' in attribs ||
          attribs['aria-hidden'] === 'true' ||
          /display\s*:\s*none|visibility\s*:\s*hidden/i.test(attribs['style'] ?? '');
        if (name === 'meta' && attribs['name']?.toLowerCase() === 'description' && attribs['content']) {
          metadata['description'] = attribs['content'].trim();
        }
        if (name === 'html' && attribs['lang']) metadata['lang'] = attribs['lang'];
        // <title> lives in the skipped <head>; an <svg> <title> is a tooltip, not the page's title.
        if (name === 'title' && titleText === null && !stack.some((e) => e.name === 'svg')) {
          inTitle = true;
          titleBuffer = '';
        }
        const skips = SKIPPED.has(name) || hidden || (name === 'a' && PERMALINK_CLASS.test(attribs['class'] ?? ''));
        const isBlock = name in BLOCK_TYPES;
        if (skipDepth === 0 && !skips) {
          if (isBlock) {
            flush(innermostBlockType());
          } else if (name === 'td' || name === 'th') {
            // Cells are not blocks; a row is. Cells are joined with ' | ' in the row's text.
            if (segments.some((s) => s.text.trim() !== '')) segments.push({ text: ' | ', raw: true });
          } else if (name === 'br') {
            segments.push({ text: '\n', raw: true });
          } else if (name === 'hr') {
            flush(innermostBlockType());
          }
        }
        if (skips) skipDepth++;
        if (name === 'pre') preDepth++;
        // A link within the page: if its text turns out to be a symbol alone, it is a permalink (checked on close).
        const inPage = name === 'a' && attribs['href']?.startsWith('#') === true;
        stack.push({ name, skips, isBlock, ...(inPage ? { selfAnchorAt: segments.length } : {}) });
      },
      ontext(data) {
        if (inTitle) titleBuffer += data;
        if (skipDepth > 0) return;
        segments.push({ text: data, raw: preDepth > 0 });
      },
      onclosetag(name) {
        if (name === 'title' && inTitle) {
          inTitle = false;
          const t = titleBuffer.replace(/\s+/g, ' ').trim();
          if (t !== '') titleText = t;
        }
        // Pop to the matching element; htmlparser2 reports implied closes, so this rarely pops more than one.
        let index = stack.length - 1;
        while (index >= 0 && (stack[index] as OpenElement).name !== name) index--;
        if (index < 0) return;
        while (stack.length > index) {
          const element = stack.pop() as OpenElement;
          closeElement(element);
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );

  const closeElement = (element: OpenElement): void => {
    if (element.name === 'pre') preDepth--;
    // A link within the page whose text is only a symbol is a permalink (a heading's, or a definition's: Texinfo
    // puts "¶" after every function signature), whatever the site calls its class.
    if (element.selfAnchorAt !== undefined && PERMALINK_TEXT.test(segments.slice(element.selfAnchorAt).map((x) => x.text).join(''))) {
      segments.length = element.selfAnchorAt;
    }
    if (element.skips) {
      skipDepth--;
      return;
    }
    if (skipDepth > 0 || !element.isBlock) return;
    const type = BLOCK_TYPES[element.name] ?? 'paragraph';
    if (type === 'heading') {
      const headingText = flush('heading');
      if (headingText === null) return;
      const level = Number(element.name.slice(1));
      const pathText = headingText.replace(/\s+/g, ' ');
      while (headings.length > 0 && (headings[headings.length - 1] as { level: number }).level >= level) headings.pop();
      headings.push({ level, text: pathText });
      if (level === 1 && firstH1 === null) firstH1 = pathText;
      appendBlock(headingText, 'heading');
      return;
    }
    flush(type);
  };

  parser.write(html);
  parser.end();
  flush(innermostBlockType());

  return {
    uri: filePath,
    externalId: null,
    title: titleText ?? firstH1 ?? path.basename(filePath),
    text: output,
    kind: 'html',
    language: null,
    metadata,
    blocks,
  };
}

/** Joins a block's text: whitespace collapsed outside <pre>, lines trimmed, blank lines dropped. */
function renderSegments(segments: Segment[], preformatted: boolean): string {
  if (segments.length === 0) return '';
  let joined = '';
  for (const s of segments) joined += s.raw ? s.text : s.text.replace(/\s+/g, ' ');
  // Preformatted text keeps its indentation; only blank edges go.
  if (preformatted) return joined.replace(/^(?:[ \t]*\n)+/, '').trimEnd();
  return joined
    .split('\n')
    .map((line) => line.replace(/[ \t\f\v\r]+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}
