import { Script } from 'node:vm';

/**
 * The one inline script of a served state page, checked to parse as JavaScript (a missing
 * or broken build of page/state-page.browser.ts throws here), with the nonce it carries.
 */
export function pageScript(html: string): { nonce: string; source: string } {
  const scripts = [...html.matchAll(/<script nonce="([^"]+)">([\s\S]*?)<\/script>/g)];
  expect(scripts).toHaveLength(1);
  const [, nonce, source] = scripts[0];
  new Script(source, { filename: 'state-page-script.js' });
  return { nonce, source };
}
