// E-mail messages (.eml, as mail clients export them). postal-mime parses the MIME structure: headers with their
// encoded words, multipart bodies, transfer encodings and charsets. The document is the message as a reader sees
// it: a header block (From, To, Cc, Date, Subject, so a search for a sender or a date finds the message), then the
// plain-text body, or the HTML body read by the HTML loader when there is no plain one. Attachments are listed in
// the metadata by name, not indexed. postal-mime is imported only when a message is met.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';
import { lazy } from '../../util/lazy.js';
import { loadHtml } from './html.js';
import { skipped, type LoadResult } from './result.js';
import { paragraphBlocks, trimmedSpan } from './text.js';

interface Mailbox {
  name: string;
  address?: string | undefined;
  group?: Mailbox[] | undefined;
}

interface ParsedEmail {
  from?: Mailbox | undefined;
  to?: Mailbox[] | undefined;
  cc?: Mailbox[] | undefined;
  subject?: string | undefined;
  date?: string | undefined;
  messageId?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  attachments: Array<{ filename: string | null; mimeType: string }>;
}

const loadPostalMime = lazy(() => import('postal-mime').then((m) => m.default as unknown as { parse(raw: Uint8Array): Promise<ParsedEmail> }));

/** "Ada Lovelace <ada@example.org>", a bare address, or a group's members. */
function formatMailbox(m: Mailbox): string {
  if (m.group) return m.group.map(formatMailbox).join(', ');
  if (m.name && m.address) return `${m.name} <${m.address}>`;
  return m.address ?? m.name;
}

function formatMailboxes(list: readonly Mailbox[] | undefined): string {
  return (list ?? []).map(formatMailbox).filter((s) => s !== '').join(', ');
}

export async function loadEmail(filePath: string, bytes: Buffer): Promise<LoadResult> {
  let email: ParsedEmail;
  try {
    email = await (await loadPostalMime()).parse(bytes);
  } catch (err) {
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} could not be read as an e-mail message (${(err as Error).message}); skipped.`);
  }
  const body = email.text?.trim() ? email.text : email.html ? loadHtml(filePath, email.html).text : '';
  if (body.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} is a message without text; skipped.`);

  const headers: Array<[string, string]> = [
    ['From', email.from ? formatMailbox(email.from) : ''],
    ['To', formatMailboxes(email.to)],
    ['Cc', formatMailboxes(email.cc)],
    ['Date', email.date ?? ''],
    ['Subject', email.subject ?? ''],
  ];
  const headerText = headers.filter(([, v]) => v.trim() !== '').map(([k, v]) => `${k}: ${v.replace(/\s+/g, ' ').trim()}`).join('\n');
  const text = headerText === '' ? body : `${headerText}\n\n${body}`;
  const bodyStart = headerText === '' ? 0 : headerText.length + 2;
  const blocks: Block[] = [];
  const headerSpan = trimmedSpan(text, 0, headerText.length);
  if (headerSpan) blocks.push({ ...headerSpan, headingPath: [], type: 'other' });
  blocks.push(...paragraphBlocks(text, bodyStart, text.length, []));

  const document: LoadedDocument = {
    uri: filePath,
    externalId: null,
    title: email.subject?.trim() || path.basename(filePath),
    text,
    kind: 'email',
    language: null,
    metadata: {
      ...(email.from ? { from: formatMailbox(email.from) } : {}),
      ...(email.date ? { date: email.date } : {}),
      ...(email.messageId ? { messageId: email.messageId } : {}),
      ...(email.attachments.length > 0 ? { attachments: email.attachments.map((a) => a.filename ?? a.mimeType) } : {}),
    },
    blocks,
  };
  return { documents: [document], problems: [] };
}
