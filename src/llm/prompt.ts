// The prompt: numbered context the model must answer from and cite with [n], so attribution can read
// the markers. Deterministic (same inputs → same messages) so traces and tests can compare prompts.
import { languageForFile } from '../ingest/loaders/code.js';
import type { ContextItem, ConversationTurn } from '../types.js';
import { fencedBlock } from '../util/backticks.js';
import { headingsAfterTitle, pageLabel } from '../util/pages.js';
import { readableText } from '../util/readable.js';

export type ChatMessage = ConversationTurn;

export const SYSTEM_PROMPT = [
  'Answer the question using only the numbered context passages below.',
  'Cite every claim with the number of the passage that supports it in square brackets, like [1] or [2][3]; use only the numbers given.',
  'If the context does not contain the answer, say plainly that it does not, and do not guess.',
  'Be concise.',
].join('\n');

/** `[n] <title> — <heading › path> (p. 3)` then the passage text. */
export function formatContextItem(item: ContextItem): string {
  const title = item.title.trim() || item.source;
  const headings = headingsAfterTitle(title, item.headingPath).join(' › ');
  const pages = pageLabel(item.pages);
  const header = `[${item.n}] ${title}${headings ? ` — ${headings}` : ''}${pages ? ` (${pages})` : ''}`;
  const language = languageForFile(item.source);
  // Code goes in a fence named by its language: where it ends is then unambiguous, and its indentation is kept.
  if (language !== null) return `${header}\n${fencedBlock(item.text.replace(/^\s*\n/, '').trimEnd(), language)}`;
  return `${header}\n${readableText(item.text).trim()}`;
}

/**
 * The system prompt, any earlier turns of a conversation (the OpenAI-compatible facade forwards a client's
 * history), then the question with its numbered context.
 */
export function buildMessages(question: string, context: ContextItem[], history: readonly ChatMessage[] = []): ChatMessage[] {
  const passages = context.length > 0 ? context.map(formatContextItem).join('\n\n') : '(no passages)';
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    ...history,
    { role: 'user', content: `Context:\n\n${passages}\n\nQuestion: ${question.trim()}` },
  ];
}
