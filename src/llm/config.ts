// Where the LLM lives and how long to wait for it. Read from the environment at the boundary and
// validated here, so the client only ever sees a complete, checked config.
import { z } from 'zod';
import { SieveError } from '../errors.js';

export const LlmConfigSchema = z.object({
  /** The OpenAI-compatible API root, usually ending in /v1. */
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://127.0.0.1:8080/v1' }),
  model: z.string().min(1),
  apiKey: z.string().min(1).optional(),
  /** Longest silence allowed (no bytes before the first token or between tokens); the whole answer gets 10× this. */
  // Capped so that 10× still fits Node's timer limit (2^31-1 ms); a larger value would fire at once.
  timeoutMs: z.number().int().positive().max(214_748_364).default(60_000),
  maxTokens: z.number().int().positive().default(1024),
  temperature: z.number().min(0).max(2).default(0.1),
});

export type LlmConfig = z.output<typeof LlmConfigSchema>;
export type LlmConfigInput = z.input<typeof LlmConfigSchema>;

/** Many local servers answer any model name with the model they have loaded. */
export const DEFAULT_MODEL_NAME = 'default';
/** The SDK refuses to run without a key; local servers ignore it. */
export const DEFAULT_API_KEY = 'sieve-local';

const ENV_BY_FIELD: Record<string, string> = {
  baseUrl: 'SIEVE_LLM_BASE_URL',
  model: 'SIEVE_LLM_MODEL',
  apiKey: 'SIEVE_LLM_API_KEY',
  timeoutMs: 'SIEVE_LLM_TIMEOUT_MS',
};

/** Validates a config given in code; failures name the field. */
export function parseLlmConfig(input: LlmConfigInput): LlmConfig {
  const parsed = LlmConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? 'llm');
  throw new SieveError('CONFIG_INVALID', `invalid LLM config ${field}: ${issue?.message ?? 'invalid value'}`, { field });
}

/** The LLM config from SIEVE_LLM_* variables, or null when SIEVE_LLM_BASE_URL is unset (extractive answers). */
export function llmConfigFromEnv(env: NodeJS.ProcessEnv): LlmConfig | null {
  const baseUrl = env.SIEVE_LLM_BASE_URL?.trim();
  if (!baseUrl) return null;

  let timeoutMs: number | undefined;
  const rawTimeout = env.SIEVE_LLM_TIMEOUT_MS?.trim();
  if (rawTimeout) {
    // Number('') and Number('1e3') would slip through a plain conversion; accept digits only.
    if (!/^\d+$/.test(rawTimeout) || Number(rawTimeout) <= 0 || Number(rawTimeout) > 214_748_364) {
      throw new SieveError(
        'CONFIG_INVALID',
        `SIEVE_LLM_TIMEOUT_MS must be a whole number of milliseconds between 1 and 214748364, got "${rawTimeout}"`,
        { variable: 'SIEVE_LLM_TIMEOUT_MS', value: rawTimeout },
      );
    }
    timeoutMs = Number(rawTimeout);
  }

  const parsed = LlmConfigSchema.safeParse({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    model: env.SIEVE_LLM_MODEL?.trim() || DEFAULT_MODEL_NAME,
    apiKey: env.SIEVE_LLM_API_KEY?.trim() || DEFAULT_API_KEY,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = ENV_BY_FIELD[String(issue?.path[0])] ?? 'SIEVE_LLM_*';
  // Never echo a key back into logs.
  const value = variable === 'SIEVE_LLM_API_KEY' ? '<redacted>' : env[variable];
  throw new SieveError('CONFIG_INVALID', `${variable} is invalid: ${issue?.message ?? 'invalid value'} (got "${value ?? ''}")`, {
    variable,
    value,
  });
}
