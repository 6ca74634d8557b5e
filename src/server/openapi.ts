// GET /openapi.json: an OpenAPI 3.1 document generated (once, on first request) from the zod schemas the routes
// validate with. OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what z.toJSONSchema writes.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ServiceContext } from './context.js';
import {
  ActivateResponse,
  AskResultSchema,
  ChatCompletionResponse,
  ErrorBody,
  FeedbackResponse,
  ForgetSummarySchema,
  HealthResponse,
  IngestSummarySchema,
  ModelsResponse,
  SearchResponse,
  SourcesResponse,
  type RequestSchemas,
} from './schemas.js';

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });

function errorResponses(...statuses: number[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of statuses) out[String(s)] = { description: 'Error (code, message, hint from the catalogue)', ...json('Error') };
  return out;
}

export function buildOpenApi(schemas: RequestSchemas, info: { name: string; version: string }): JsonObject {
  const components: Record<string, JsonObject> = {
    AskRequest: jsonSchema(schemas.AskRequest, 'input'),
    SearchRequest: jsonSchema(schemas.SearchRequest, 'input'),
    IngestRequest: jsonSchema(schemas.IngestRequest, 'input'),
    ForgetRequest: jsonSchema(schemas.ForgetRequest, 'input'),
    FeedbackRequest: jsonSchema(schemas.FeedbackRequest, 'input'),
    ChatCompletionRequest: jsonSchema(schemas.ChatCompletionRequest, 'input'),
    AskResult: jsonSchema(AskResultSchema, 'output'),
    SearchResponse: jsonSchema(SearchResponse, 'output'),
    IngestSummary: jsonSchema(IngestSummarySchema, 'output'),
    ForgetSummary: jsonSchema(ForgetSummarySchema, 'output'),
    FeedbackResponse: jsonSchema(FeedbackResponse, 'output'),
    ModelsResponse: jsonSchema(ModelsResponse, 'output'),
    SourcesResponse: jsonSchema(SourcesResponse, 'output'),
    ActivateResponse: jsonSchema(ActivateResponse, 'output'),
    HealthResponse: jsonSchema(HealthResponse, 'output'),
    ChatCompletion: jsonSchema(ChatCompletionResponse, 'output'),
    Error: jsonSchema(ErrorBody, 'output'),
  };
  const post = (summary: string, request: string, response: string, errors: number[], extra: JsonObject = {}) => ({
    post: { summary, requestBody: { required: true, ...json(request) }, responses: { '200': { description: 'OK', ...json(response), ...extra }, ...errorResponses(...errors) } },
  });
  return {
    openapi: '3.1.0',
    info: { title: `${info.name} HTTP service`, version: info.version, description: 'sieve: a local retrieval context engine. With a token, send Authorization: Bearer <token> (all routes but /healthz).' },
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/v1/ask': {
        post: {
          summary: 'Answer a question with numbered, cited context. stream:true (or Accept: text/event-stream) sends SSE: event "token" {text}…, then "result" (the AskResult), or "error" {code,message,hint} for a failure once streaming (before the first event, failures are JSON errors with their status).',
          requestBody: { required: true, ...json('AskRequest') },
          responses: {
            '200': {
              description: 'The answer, its context and trace id',
              content: { 'application/json': { schema: ref('AskResult') }, 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errorResponses(400, 401, 409, 413, 502, 504),
          },
        },
      },
      '/v1/search': post('Ranked chunks for a query, without answering', 'SearchRequest', 'SearchResponse', [400, 401, 413]),
      '/v1/ingest': post('Index files and folders inside the --root folders', 'IngestRequest', 'IngestSummary', [400, 401, 403, 404]),
      '/v1/forget': post('Take what was ingested from files or folders inside the --root folders out of the index (the files stay on disk); nothing is removed when a path matches no ingested file', 'ForgetRequest', 'ForgetSummary', [400, 401, 403, 404]),
      '/v1/feedback': post('Feedback on an answer and its numbered context items', 'FeedbackRequest', 'FeedbackResponse', [400, 401, 404]),
      '/v1/sources': { get: { summary: 'The ingested files with their documents and chunks: what a scope selects from', responses: { '200': { description: 'OK', ...json('SourcesResponse') }, ...errorResponses(401) } } },
      '/v1/models': { get: { summary: 'Registered model versions and the ones serving', responses: { '200': { description: 'OK', ...json('ModelsResponse') }, ...errorResponses(401) } } },
      '/v1/models/{id}/activate': {
        post: {
          summary: 'Serve another model version (hot-swapped; requests in flight finish on the old one)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'OK', ...json('ActivateResponse') }, ...errorResponses(401, 404) },
        },
      },
      '/v1/chat/completions': {
        post: {
          summary: 'OpenAI-compatible chat completions: the last user message is answered with sieve context; the response carries a `sieve` field (traceId, citations, context). stream:true sends `data: {chunk}` lines ending `data: [DONE]`, the sieve field on the last chunk.',
          requestBody: { required: true, ...json('ChatCompletionRequest') },
          responses: {
            '200': { description: 'OK', content: { 'application/json': { schema: ref('ChatCompletion') }, 'text/event-stream': { schema: { type: 'string' } } } },
            ...errorResponses(400, 401, 502, 504),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness (no auth)', security: [], responses: { '200': { description: 'OK', ...json('HealthResponse') } } } },
      '/metrics': { get: { summary: 'Prometheus text exposition', responses: { '200': { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OK' } } } },
    },
  };
}

export function registerOpenApiRoute(app: FastifyInstance, ctx: ServiceContext): void {
  let cached: string | undefined;
  app.get('/openapi.json', async (_request, reply) => {
    cached ??= JSON.stringify(buildOpenApi(ctx.schemas, { name: ctx.name, version: ctx.version }));
    return reply.header('content-type', 'application/json; charset=utf-8').send(cached);
  });
}
