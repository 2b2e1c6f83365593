import { Script } from 'node:vm';

/**
 * The one script of a served state page: a file (the `<script>` has a `src` and no body),
 * fetched from the server, served as JavaScript and checked to parse as a classic script
 * (a missing or broken build of page/state-page.browser.ts fails here).
 */
export async function pageScript(pageUrl: string, html: string): Promise<{ src: string; source: string }> {
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  expect(scripts).toHaveLength(1);
  const [, attributes, body] = scripts[0];
  expect(body).toBe('');
  const src = /\bsrc="([^"]+)"/.exec(attributes)?.[1] ?? '';
  expect(src).not.toBe('');
  const res = await fetch(new URL(src, pageUrl));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript\b/);
  const source = await res.text();
  new Script(source, { filename: src });
  return { src, source };
}
