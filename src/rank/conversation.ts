// Retrieval inside a conversation. A follow-up question seldom names its subject ("when was it founded?", "and its
// side effects?"): the subject is in the turns before it. So retrieval searches for the question together with the
// user's previous question and the conversation's first one (its topic), as the concatenation baselines of
// conversational search (TREC CAsT) do; the LLM still gets the question as asked, with the conversation.
import type { ConversationTurn } from '../types.js';

/** Earlier questions are cut to this many words: they add the subject, not their own details. */
const EARLIER_TURN_WORDS = 48;

export function conversationalQuery(question: string, history: readonly ConversationTurn[] | undefined): string {
  const asked = (history ?? []).filter((t) => t.role === 'user').map((t) => t.content.trim()).filter((t) => t !== '');
  if (asked.length === 0) return question;
  const parts = [question.trim()];
  for (const earlier of [asked[asked.length - 1]!, asked[0]!]) {
    const clipped = earlier.split(/\s+/).slice(0, EARLIER_TURN_WORDS).join(' ');
    if (!parts.includes(clipped)) parts.push(clipped);
  }
  return parts.join('\n');
}
