// GET /: the web page — ask, watch the answer stream in, see the cited context, say what helped, and follow the
// relevance model's versions and learning curve. One self-contained HTML response (style and script inline,
// nothing fetched from elsewhere: the machine may be offline); the script talks to the /v1 API.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { packageInfo } from '../util/version.js';
import { PAGE_STYLE, pageHtml } from './page/html.js';
import { PAGE_SCRIPT } from './page/script.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');

/**
 * The page's HTML and the Content-Security-Policy that lets exactly its own inline script and style run and
 * lets it talk only to this origin.
 */
export function buildPage(): { html: string; csp: string } {
  // The script sits inside <script>: a closing tag in it would end it early.
  if (/<\/script/i.test(PAGE_SCRIPT) || /<\/style/i.test(PAGE_STYLE)) throw new Error('page assets must not contain a closing script/style tag');
  const { name, version } = packageInfo();
  const html = pageHtml({ name, version, script: PAGE_SCRIPT, style: PAGE_STYLE });
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(PAGE_SCRIPT)}'`,
    `style-src 'sha256-${sha256(PAGE_STYLE)}'`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

export function registerPage(app: FastifyInstance): void {
  const { html, csp } = buildPage();
  app.get('/', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(html),
  );
}
