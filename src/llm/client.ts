// The answerer that asks an OpenAI-compatible chat completions server (mlx_lm.server, llama.cpp,
// Ollama, vLLM, LM Studio…) and streams back only the visible answer.
//
// The openai SDK sends the request and maps HTTP errors; around it this module adds what real local
// servers need (DESIGN.md, "LLM servers as they really behave"):
// - an idle timeout on bytes, not just on headers: the SDK's `timeout` stops at the response headers,
//   so a wrapped `fetch` resets a watchdog on every body chunk;
// - the SDK's stream iterator ends *silently* when aborted, so every exit checks who aborted and why;
// - a 200 that is not SSE (an HTML page, a proxy's error, a whole JSON completion from a server that
//   ignores `stream: true`) is read by content type instead of being parsed into zero events;
// - chunks are validated leniently: empty `choices`, `content: null`, role-only deltas, no usage,
//   `reasoning_content` / `reasoning` fields, and a stream ending with or without `[DONE]` all work.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { z } from 'zod';
import { SieveError } from '../errors.js';
import type { AnswerOutput, AnswerRequest, Answerer } from '../types.js';
import { DEFAULT_API_KEY, type LlmConfig } from './config.js';
import { buildMessages } from './prompt.js';
import { createThinkSplitter, DEFAULT_MAX_HOLD_CHARS, type ThinkSplit, type ThinkSplitter } from './think.js';

const BODY_SNIPPET_CHARS = 200;
/** The whole answer may take this many idle timeouts. */
const OVERALL_TIMEOUT_FACTOR = 10;

// ---- wire shapes (lenient: a field of the wrong type is ignored rather than failing the answer) ----

const looseText = z.string().nullish().catch(undefined);

const DeltaSchema = z.object({
  content: looseText,
  reasoning_content: looseText,
  reasoning: looseText,
});

const ChoiceSchema = z.object({
  index: z.number().nullish().catch(undefined),
  delta: DeltaSchema.nullish().catch(undefined),
  /** Whole (non-streamed) completions carry `message` instead of `delta`. */
  message: DeltaSchema.nullish().catch(undefined),
  finish_reason: looseText,
});

const CompletionChunkSchema = z.object({
  model: looseText,
  choices: z.array(ChoiceSchema).nullish().catch(undefined),
  error: z.unknown().optional(),
});
type CompletionChunk = z.infer<typeof CompletionChunkSchema>;

const ModelListSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

/** How a model marks its thinking, learned from its earlier answers. */
type ThinkStyle = 'implicit' | 'plain';

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > BODY_SNIPPET_CHARS ? `${flat.slice(0, BODY_SNIPPET_CHARS)}…` : flat;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The innermost useful reason in an error's cause chain, e.g. "connect ECONNREFUSED 127.0.0.1:9". */
function rootReason(err: unknown): string {
  let current: unknown = err;
  let reason = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    const message = current.message;
    // undici's AggregateError (one failure per address tried) has a code but an empty message.
    if (message) reason = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
    else if (typeof code === 'string') reason = code;
    current = current.cause;
  }
  return reason;
}

/** Builds a client whose fetch reports every arriving byte chunk (and the headers) to `onBytes`. */
function makeOpenAiClient(config: LlmConfig, timeoutMs: number, onBytes: () => void): OpenAI {
  const watchedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    onBytes();
    if (!response.body) return response;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          onBytes();
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return new OpenAI({
    baseURL: trimSlashes(config.baseUrl),
    apiKey: config.apiKey ?? DEFAULT_API_KEY,
    timeout: timeoutMs,
    maxRetries: 0,
    // The SDK logs unparsable SSE lines to the console; we report them as errors instead.
    logLevel: 'off',
    fetch: watchedFetch,
  });
}

/** Maps whatever the SDK or fetch threw into the catalogue; errors that are not the LLM's pass through. */
function toLlmError(err: unknown, baseUrl: string): unknown {
  if (err instanceof SieveError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return new SieveError('LLM_TIMEOUT', `the LLM at ${baseUrl} did not answer in time`, { baseUrl }, { cause: err });
  }
  if (err instanceof APIConnectionError) {
    const reason = rootReason(err.cause ?? err);
    return new SieveError('LLM_UNREACHABLE', `could not reach the LLM at ${baseUrl}: ${reason}`, { baseUrl, reason }, { cause: err });
  }
  if (err instanceof APIError) {
    const body = err.error !== undefined ? JSON.stringify(err.error) : err.message;
    if (err.status === undefined) {
      // An `{"error": …}` event inside a 200 stream.
      return new SieveError('LLM_BAD_RESPONSE', `the LLM at ${baseUrl} reported an error mid-answer: ${snippet(body)}`, { baseUrl, body: snippet(body) }, { cause: err });
    }
    return badStatus(baseUrl, err.status, body, err);
  }
  if (err instanceof SyntaxError) {
    return new SieveError('LLM_BAD_RESPONSE', `the LLM at ${baseUrl} sent a stream event that is not JSON: ${snippet(err.message)}`, { baseUrl }, { cause: err });
  }
  // undici reports a connection closed mid-body as TypeError('terminated') with the socket error as cause.
  if (err instanceof TypeError && err.message === 'terminated') {
    const reason = rootReason(err);
    return new SieveError('LLM_UNREACHABLE', `could not reach the LLM at ${baseUrl}: the connection closed mid-answer (${reason})`, { baseUrl, reason }, { cause: err });
  }
  return err;
}

function badStatus(baseUrl: string, status: number, body: string, cause?: unknown): SieveError {
  return new SieveError(
    'LLM_BAD_RESPONSE',
    `the LLM at ${baseUrl} answered HTTP ${status}: ${snippet(body) || '(empty body)'}`,
    { baseUrl, status, body: snippet(body) },
    cause === undefined ? undefined : { cause },
  );
}

/** The error a cancelled request should surface: the caller's own abort reason. */
function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** Per-answer state: the splitter, the collected text and reasoning, and the model the server named. */
class AnswerAccumulator {
  text = '';
  fieldReasoning = '';
  tagReasoning = '';
  reportedModel: string | undefined;
  chunkCount = 0;
  finishReason: string | undefined;
  sawReasoningField = false;
  splitter: ThinkSplitter | undefined;

  constructor(
    private readonly chooseSplitter: (model: string | undefined) => ThinkSplitter,
    private readonly onToken: ((text: string) => void) | undefined,
  ) {}

  /** Takes one parsed chunk (or a whole completion); ignores shapes that carry no text. */
  add(raw: unknown, baseUrl: string): void {
    const parsed = CompletionChunkSchema.safeParse(raw);
    if (!parsed.success) {
      throw new SieveError('LLM_BAD_RESPONSE', `the LLM at ${baseUrl} sent a chunk that is not a chat completion: ${snippet(JSON.stringify(raw) ?? String(raw))}`, { baseUrl });
    }
    const chunk: CompletionChunk = parsed.data;
    if (chunk.error !== undefined && chunk.error !== null) {
      throw new SieveError('LLM_BAD_RESPONSE', `the LLM at ${baseUrl} reported an error: ${snippet(JSON.stringify(chunk.error))}`, { baseUrl });
    }
    this.chunkCount += 1;
    if (chunk.model && this.reportedModel === undefined) this.reportedModel = chunk.model;
    // n=1 is requested; a server that sends more choices anyway has its first one used.
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    if (!choice) return; // usage-only chunks have `choices: []`
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    const delta = choice.delta ?? choice.message;
    if (!delta) return;
    const fieldReasoning = delta.reasoning_content ?? delta.reasoning;
    if (fieldReasoning) {
      this.fieldReasoning += fieldReasoning;
      if (!this.sawReasoningField) {
        this.sawReasoningField = true;
        // The server separates thinking, so content is answer: stop holding it back.
        if (this.splitter) this.emit(this.splitter.releaseHeld());
      }
    }
    if (delta.content) {
      if (!this.splitter) {
        this.splitter = this.chooseSplitter(this.reportedModel);
        if (this.sawReasoningField) this.splitter.releaseHeld();
      }
      this.emit(this.splitter.push(delta.content));
    }
  }

  finish(): void {
    if (this.splitter) this.emit(this.splitter.end());
  }

  private emit(split: ThinkSplit): void {
    this.tagReasoning += split.reasoning;
    if (split.answer) {
      this.text += split.answer;
      this.onToken?.(split.answer);
    }
  }

  reasoning(): string {
    return [this.fieldReasoning.trim(), this.tagReasoning.trim()].filter((r) => r !== '').join('\n\n');
  }
}

/** Parses a body that was not served as SSE: a whole JSON completion, or SSE lines under a wrong content type. */
function addNonStreamBody(body: string, status: number, baseUrl: string, acc: AnswerAccumulator): void {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (json !== undefined) {
    if (typeof json !== 'object' || json === null || !('choices' in json || 'error' in json)) throw badStatus(baseUrl, status, body);
    acc.add(json, baseUrl);
    return;
  }
  const dataLines = body.split(/\r?\n/).filter((line) => line.startsWith('data:'));
  if (dataLines.length === 0) throw badStatus(baseUrl, status, body);
  for (const line of dataLines) {
    const payload = line.slice('data:'.length).trim();
    if (payload === '' || payload.startsWith('[DONE]')) continue;
    let event: unknown;
    try {
      event = JSON.parse(payload);
    } catch {
      throw badStatus(baseUrl, status, body);
    }
    acc.add(event, baseUrl);
  }
}

export class OpenAiCompatibleAnswerer implements Answerer {
  readonly kind = 'llm' as const;
  private readonly config: LlmConfig;
  private readonly baseUrl: string;
  /** What each model (by the name the server reports) did with think tags in earlier answers. */
  private readonly thinkStyles = new Map<string, ThinkStyle>();

  constructor(config: LlmConfig) {
    this.config = config;
    this.baseUrl = trimSlashes(config.baseUrl);
  }

  async answer(req: AnswerRequest): Promise<AnswerOutput> {
    req.signal?.throwIfAborted();
    const { timeoutMs } = this.config;
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const timeout = (what: string, ms: number): SieveError =>
      new SieveError('LLM_TIMEOUT', `the LLM at ${this.baseUrl} ${what} for ${ms} ms`, { baseUrl: this.baseUrl, timeoutMs: ms });
    let idleTimer: NodeJS.Timeout | undefined;
    const resetIdle = (): void => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => controller.abort(timeout('sent nothing', timeoutMs)), timeoutMs);
    };
    const overallMs = timeoutMs * OVERALL_TIMEOUT_FACTOR;
    const overallTimer = setTimeout(() => controller.abort(timeout('kept answering', overallMs)), overallMs);
    resetIdle();

    const acc = new AnswerAccumulator((model) => this.splitterFor(model ?? this.config.model), req.onToken);
    const client = makeOpenAiClient(this.config, overallMs, resetIdle);
    try {
      const { data: stream, response } = await client.chat.completions
        .create(
          {
            model: this.config.model,
            messages: buildMessages(req.question, req.context, req.history),
            stream: true,
            max_tokens: this.config.maxTokens,
            temperature: this.config.temperature,
          },
          { signal: controller.signal },
        )
        .withResponse();

      const contentType = response.headers.get('content-type') ?? '';
      if (contentType.includes('text/event-stream')) {
        for await (const chunk of stream) {
          // Events already buffered must not reach onToken once the caller (or a timeout) has aborted.
          if (controller.signal.aborted) break;
          acc.add(chunk, this.baseUrl);
        }
      } else {
        addNonStreamBody(await response.text(), response.status, this.baseUrl, acc);
      }
      // The SDK's iterator ends quietly when aborted; a stream cut by a timeout or the caller is not an answer.
      if (controller.signal.aborted) throw controller.signal.reason;
      if (acc.chunkCount === 0) {
        throw new SieveError('LLM_BAD_RESPONSE', `the LLM at ${this.baseUrl} answered HTTP ${response.status} but sent no chat completion chunks`, {
          baseUrl: this.baseUrl,
          status: response.status,
        });
      }
      acc.finish();
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal);
      if (controller.signal.aborted && controller.signal.reason instanceof SieveError) throw controller.signal.reason;
      throw toLlmError(err, this.baseUrl);
    } finally {
      clearTimeout(idleTimer);
      clearTimeout(overallTimer);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }

    const model = acc.reportedModel ?? this.config.model;
    this.learnThinkStyle(model, acc);
    return { text: acc.text, reasoning: acc.reasoning(), model };
  }

  private splitterFor(model: string): ThinkSplitter {
    const style = this.thinkStyles.get(model);
    if (style === 'implicit') return createThinkSplitter({ maxHoldChars: Number.POSITIVE_INFINITY });
    if (style === 'plain') return createThinkSplitter({ maxHoldChars: 0 });
    return createThinkSplitter({ maxHoldChars: DEFAULT_MAX_HOLD_CHARS });
  }

  /** After one answer we know whether the model's untagged leading text is a thought; later answers stream sooner. */
  private learnThinkStyle(model: string, acc: AnswerAccumulator): void {
    const splitter = acc.splitter;
    if (!splitter) return;
    if (splitter.sawImplicitThought) this.thinkStyles.set(model, 'implicit');
    // A cut-off answer (finish_reason 'length') may have been a thought that never closed: learn nothing.
    else if (acc.finishReason !== 'length' && (splitter.sawTag || acc.sawReasoningField || acc.text !== '')) {
      this.thinkStyles.set(model, 'plain');
    }
  }
}

export interface LlmProbe {
  ok: boolean;
  models: string[];
  error?: string;
}

/** Asks GET <baseUrl>/models; never throws, so `sieve` can report an LLM's health next to everything else. */
export async function probeLlm(config: LlmConfig): Promise<LlmProbe> {
  const baseUrl = trimSlashes(config.baseUrl);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.timeoutMs);
  const client = makeOpenAiClient(config, config.timeoutMs, () => undefined);
  try {
    const body = await client.get<unknown>('/models', { signal: controller.signal });
    const parsed = ModelListSchema.safeParse(body);
    if (!parsed.success) {
      return { ok: false, models: [], error: `the LLM at ${baseUrl} answered GET /models with an unexpected body: ${snippet(JSON.stringify(body) ?? '')}` };
    }
    return { ok: true, models: parsed.data.data.map((m) => m.id) };
  } catch (err) {
    const mapped = controller.signal.aborted
      ? new SieveError('LLM_TIMEOUT', `the LLM at ${baseUrl} did not answer GET /models within ${config.timeoutMs} ms`)
      : toLlmError(err, baseUrl);
    return { ok: false, models: [], error: mapped instanceof Error ? mapped.message : String(mapped) };
  } finally {
    clearTimeout(timer);
  }
}
