// Separates a reasoning model's thinking from its visible answer, as text streams in.
//
// Servers differ (see DESIGN.md, "LLM servers as they really behave"): thinking may arrive as
// `<think>…</think>` (or `<thinking>…</thinking>`, any case) inside `content`, split across chunks at
// any byte, or — when the chat template put the opening tag in the prompt — as bare text that only
// later turns out to be a thought because a `</think>` follows it.
//
// The rule for untagged leading text ("hold rule"): text that opens the stream without a tag may be a
// thought whose `<think>` was in the prompt, so it is held back until one of
//   1. `</think>` arrives       → the held text was reasoning;
//   2. `<think>` arrives         → the held text was answer (a thought is opening now, not before);
//   3. the stream ends           → the held text was answer;
//   4. more than `maxHoldChars` are held (default 8192), or the caller calls `releaseHeld()`
//                               → the held text is released as answer and no longer suspected.
// Latency cost: a model that never thinks shows nothing until its answer ends or passes maxHoldChars
// (for a typical RAG answer of under 1024 tokens, that is the whole answer). Callers that know more
// pass `maxHoldChars: 0` (stream at once) or `startsInside: true`; the LLM client learns which applies
// per model after the first answer, so only the first ask of a model pays this cost.
//
// The answer is trimmed: leading whitespace (at the start and after every closing tag) is dropped, and
// trailing whitespace is held until non-space text follows it, so it is never emitted at the very end.
// This keeps "concatenation of every emitted piece" equal to the trimmed final answer.

export interface ThinkSplit {
  answer: string;
  reasoning: string;
}

export interface ThinkSplitterOptions {
  /** The stream is known to begin inside a thought (the opening tag was in the prompt). */
  startsInside?: boolean;
  /** Most characters of untagged leading text to hold back as a possible thought; 0 streams at once. */
  maxHoldChars?: number;
}

export interface ThinkSplitter {
  /** Feeds the next piece of streamed content; returns what can be classified now. */
  push(text: string): ThinkSplit;
  /** Ends the stream: flushes partial tags and held text. */
  end(): ThinkSplit;
  /** Stops suspecting the held leading text of being a thought and returns it as answer. */
  releaseHeld(): ThinkSplit;
  /** True once a closing tag arrived without an opening one: the stream began inside a thought. */
  readonly sawImplicitThought: boolean;
  /** True once any think tag (opening or closing) has been seen. */
  readonly sawTag: boolean;
}

export const DEFAULT_MAX_HOLD_CHARS = 8192;

const TAGS = ['<think>', '<thinking>', '</think>', '</thinking>'] as const;
const ANY_TAG = /<(\/?)think(?:ing)?>/i;
const CLOSE_TAG = /<\/think(?:ing)?>/i;

/** Length of the trailing part of `text` that could be the start of a tag, so must wait for more. */
function partialTagLength(text: string): number {
  const lt = text.lastIndexOf('<');
  // A tag is at most 11 characters and contains a single '<', so only the last '<' can start one.
  if (lt === -1 || text.length - lt >= 11) return 0;
  const tail = text.slice(lt).toLowerCase();
  return TAGS.some((tag) => tag.length > tail.length && tag.startsWith(tail)) ? tail.length : 0;
}

export function createThinkSplitter(opts: ThinkSplitterOptions = {}): ThinkSplitter {
  const maxHoldChars = opts.maxHoldChars ?? DEFAULT_MAX_HOLD_CHARS;
  let inThought = opts.startsInside === true;
  let holding = !inThought && maxHoldChars > 0;
  let held = '';
  /** Tail of the last push that may be the beginning of a tag. */
  let carry = '';
  /** Answer whitespace not yet emitted because nothing visible has followed it. */
  let pendingSpace = '';
  /** Drop leading whitespace of the next answer text (stream start, or just after a closing tag). */
  let trimNext = true;
  let sawImplicitThought = false;
  let sawTag = false;

  function emitAnswer(text: string, out: ThinkSplit): void {
    let visible = text;
    if (trimNext) {
      visible = visible.replace(/^\s+/, '');
      if (visible === '') return;
      trimNext = false;
    }
    const joined = pendingSpace + visible;
    const trailing = /\s+$/.exec(joined);
    pendingSpace = trailing ? trailing[0] : '';
    out.answer += joined.slice(0, joined.length - pendingSpace.length);
  }

  function releaseHeldInto(out: ThinkSplit): void {
    if (!holding) return;
    holding = false;
    const text = held;
    held = '';
    emitAnswer(text, out);
  }

  function consume(input: string, out: ThinkSplit, final: boolean): void {
    let rest = input;
    while (rest !== '') {
      if (inThought) {
        const close = CLOSE_TAG.exec(rest);
        if (close) {
          out.reasoning += rest.slice(0, close.index);
          rest = rest.slice(close.index + close[0].length);
          inThought = false;
          trimNext = true;
          continue;
        }
        const partial = final ? 0 : partialTagLength(rest);
        out.reasoning += rest.slice(0, rest.length - partial);
        carry = rest.slice(rest.length - partial);
        return;
      }
      const tag = ANY_TAG.exec(rest);
      if (tag) {
        sawTag = true;
        const before = rest.slice(0, tag.index);
        rest = rest.slice(tag.index + tag[0].length);
        if (tag[1] === '/') {
          // A closing tag with no opening one: everything not yet emitted before it was a thought.
          sawImplicitThought = true;
          out.reasoning += held + before;
          held = '';
          holding = false;
          trimNext = true;
        } else {
          if (holding) held += before;
          else emitAnswer(before, out);
          releaseHeldInto(out);
          inThought = true;
        }
        continue;
      }
      const partial = final ? 0 : partialTagLength(rest);
      const settled = rest.slice(0, rest.length - partial);
      carry = rest.slice(rest.length - partial);
      if (holding) {
        held += settled;
        if (held.length > maxHoldChars) releaseHeldInto(out);
      } else {
        emitAnswer(settled, out);
      }
      return;
    }
  }

  return {
    push(text: string): ThinkSplit {
      const out: ThinkSplit = { answer: '', reasoning: '' };
      const input = carry + text;
      carry = '';
      consume(input, out, false);
      return out;
    },
    end(): ThinkSplit {
      const out: ThinkSplit = { answer: '', reasoning: '' };
      const input = carry;
      carry = '';
      consume(input, out, true);
      // No closing tag came: held leading text was the answer after all.
      releaseHeldInto(out);
      pendingSpace = '';
      return out;
    },
    releaseHeld(): ThinkSplit {
      const out: ThinkSplit = { answer: '', reasoning: '' };
      releaseHeldInto(out);
      return out;
    },
    get sawImplicitThought(): boolean {
      return sawImplicitThought;
    },
    get sawTag(): boolean {
      return sawTag;
    },
  };
}

/** Splits a whole string; untagged text before a lone closing tag counts as reasoning. */
export function stripThinking(text: string): ThinkSplit {
  const splitter = createThinkSplitter({ maxHoldChars: Number.POSITIVE_INFINITY });
  const first = splitter.push(text);
  const last = splitter.end();
  return {
    answer: first.answer + last.answer,
    reasoning: (first.reasoning + last.reasoning).trim(),
  };
}
