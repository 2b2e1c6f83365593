import { RUNNING_PHASES } from '../reshard/workflow';
import type { PageConfig } from './page/state-view';

/**
 * The state page: one self-contained HTML document (inline CSS and script, no external
 * asset, so it works offline and behind any proxy). The script is page/state-page.browser.ts.
 */

/** Palette slots (see colorOf in ring-layout.ts): distinct, readable on light and dark. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#9c6ade', '#2aa198', '#c9a227', '#e377c2'];

const CSS = String.raw`
:root {
  --bg: #f3f4f7; --card: #ffffff; --text: #1b2130; --muted: #5c6577; --line: #dfe3ea; --track: #e9ecf1;
  --accent: #2f6fdf; --accent-soft: #dbe6fb; --ok: #17824a; --ok-soft: #dcf3e6; --bad: #c42b2b; --bad-soft: #fbe1e1;
  --warn: #9a5b00; --warn-soft: #fff0d6;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116; --card: #171b23; --text: #e7eaf0; --muted: #9ba4b4; --line: #2a303c; --track: #232936;
    --accent: #5b93f5; --accent-soft: #1d2b47; --ok: #4cc27f; --ok-soft: #15301f; --bad: #ff6b6b; --bad-soft: #3a1a1c;
    --warn: #f0b54b; --warn-soft: #3a2d12;
  }
}
${PALETTE.map((c, i) => `.s${i} { --c: ${c}; }`).join('\n')}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: baseline; justify-content: space-between; padding: 14px 20px 4px; max-width: 1320px; margin: 0 auto; }
h1 { margin: 0; font-size: 20px; font-weight: 650; letter-spacing: -0.01em; }
h1 .sub { color: var(--muted); font-weight: 500; }
h2 { margin: 0 0 10px; font-size: 13px; font-weight: 650; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
.summary { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; color: var(--muted); font-size: 14px; }
.summary b { color: var(--text); font-variant-numeric: tabular-nums; }
.live { display: inline-flex; gap: 7px; align-items: center; font-weight: 600; color: var(--ok); }
.live::before { content: ""; width: 9px; height: 9px; border-radius: 50%; background: currentColor; }
.live.stale { color: var(--bad); }
.live.wait { color: var(--muted); }
main { display: grid; grid-template-columns: minmax(300px, 470px) minmax(0, 1fr); gap: 16px; padding: 12px 20px 20px; max-width: 1320px; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.ring-card { grid-row: span 2; }
.wide { grid-column: 1 / -1; }
#alerts { max-width: 1320px; margin: 0 auto; padding: 0 20px; display: grid; gap: 8px; }
#alerts:empty { display: none; }
.alert { margin-top: 8px; padding: 9px 14px; border-radius: 8px; border: 1px solid; font-size: 14px; }
.alert.bad { background: var(--bad-soft); border-color: var(--bad); color: var(--bad); }
.alert.warn { background: var(--warn-soft); border-color: var(--warn); color: var(--warn); }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.alert code { color: var(--text); }
svg { display: block; width: 100%; height: auto; max-width: 470px; margin: 0 auto; overflow: visible; }
.track { fill: none; stroke: var(--track); stroke-width: 18; }
.arc { fill: none; stroke: var(--c); stroke-width: 18; }
.arc-name { fill: var(--text); font-size: 15px; font-weight: 650; }
.arc-share { fill: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
.marker { fill: var(--c); stroke: var(--text); stroke-width: 2.5; }
.tick { stroke: var(--text); stroke-width: 2.5; }
.tick.pending { stroke-dasharray: 3 3; }
.point-label { fill: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.moving-arc { fill: none; stroke: var(--c); stroke-width: 7; stroke-linecap: round; stroke-dasharray: 9 7; animation: flow 0.9s linear infinite; }
.moving-label { fill: var(--text); font-size: 13px; font-weight: 650; }
.pending-marker { fill: var(--card); stroke: var(--c); stroke-width: 3; }
.center-version { fill: var(--text); font-size: 38px; font-weight: 700; }
.center-sub { fill: var(--muted); font-size: 13px; }
@keyframes flow { to { stroke-dashoffset: -16; } }
@media (prefers-reduced-motion: reduce) { .moving-arc { animation: none; } }
.legend { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; text-align: center; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 7px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
tr:last-child td { border-bottom: none; }
th.num, td.num { text-align: right; }
.scroll { overflow-x: auto; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px; background: var(--c); margin-right: 8px; vertical-align: -1px; }
.name { font-weight: 600; }
.muted { color: var(--muted); }
tr.candidate td { background: var(--warn-soft); }
tr.candidate td:first-child { box-shadow: inset 4px 0 var(--warn); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 650; white-space: nowrap; }
.badge.ok { background: var(--ok-soft); color: var(--ok); }
.badge.bad { background: var(--bad-soft); color: var(--bad); }
.badge.warn { background: var(--warn-soft); color: var(--warn); }
.badge.info { background: var(--accent-soft); color: var(--accent); }
.badge.plain { background: var(--track); color: var(--muted); }
.job-title { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; margin-bottom: 12px; }
.job-title .what { font-size: 17px; font-weight: 650; }
.phases { display: flex; gap: 4px; list-style: none; padding: 0; margin: 0 0 12px; }
.phases li { flex: 1; text-align: center; font-size: 12px; padding: 5px 2px; border-radius: 5px; background: var(--track); color: var(--muted); }
.phases li.past { background: var(--accent-soft); color: var(--accent); }
.phases li.current { background: var(--accent); color: #fff; font-weight: 650; }
.phases.failed li.current { background: var(--bad); }
.bar { height: 14px; border-radius: 7px; background: var(--track); overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--accent); transition: width 0.6s ease; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px 16px; margin: 12px 0 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; color: var(--muted); }
.facts dd { margin: 0; font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }
.facts .full { grid-column: 1 / -1; }
.facts .full dd { font-size: 14px; font-weight: 500; }
.facts .bad { color: var(--bad); }
.empty { color: var(--muted); margin: 4px 0; }
.hint { margin: 0 0 12px; padding: 8px 12px; border-radius: 8px; background: var(--warn-soft); }
footer { max-width: 1320px; margin: 0 auto; padding: 0 20px 24px; color: var(--muted); font-size: 12.5px; }
@media (max-width: 860px) {
  main { grid-template-columns: minmax(0, 1fr); padding: 10px 12px 16px; gap: 12px; }
  .ring-card { grid-row: auto; }
  header, #alerts, footer { padding-left: 12px; padding-right: 12px; }
}
/* Phones: each shard becomes a small card of labelled values rather than a wide table. */
@media (max-width: 600px) {
  #shards thead { display: none; }
  #shards, #shards tbody, #shards tr { display: block; }
  #shards tr { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 6px 10px; padding: 10px 0; border-bottom: 1px solid var(--line); }
  #shards td { border: none; padding: 0; white-space: normal; text-align: left; min-width: 0; overflow-wrap: anywhere; }
  #shards td::before { content: attr(data-label); display: block; font-size: 11px; color: var(--muted); }
  #shards td[data-col=name] { grid-column: 1 / -1; font-size: 16px; }
  #shards td[data-col=name]::before { display: none; }
  #shards td[data-col=migration] { grid-column: span 2; }
  tr.candidate td:first-child { box-shadow: none; }
  tr.candidate { background: var(--warn-soft); box-shadow: inset 4px 0 var(--warn); padding-left: 10px !important; }
  tr.candidate td { background: none; }
  .hide-narrow { display: none; }
  th, td { padding: 6px 6px; }
  .card { padding: 12px; }
  /* The ring is drawn smaller on a phone: larger type keeps its labels readable. */
  .arc-name { font-size: 17px; }
  .arc-share { font-size: 15px; }
  .point-label { font-size: 12px; }
  .center-version { font-size: 32px; }
  .moving-label { font-size: 15px; }
}
`;

const config: PageConfig = { phases: [...RUNNING_PHASES, 'done'] };

// Loaded with require, not import: an import would put the browser code in the server's
// program, which has no DOM types; tsconfig.browser.json type-checks it against the DOM and
// emits it beside this file. The page carries the function's source and calls it.
const { runStatePage } = require('./page/state-page.browser') as { runStatePage: (config: PageConfig) => void };
const SCRIPT = `(${runStatePage.toString()})(${JSON.stringify(config)});`;
// Inside <script>, the HTML parser would end the element at "</script" (and "<!--" changes how it reads).
if (/<\/script|<!--/i.test(SCRIPT)) throw new Error('the state page script must not contain "</script" or "<!--"');

export function statePage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>State · sharded chat</title>
<style nonce="${nonce}">${CSS}</style>
</head>
<body>
<header>
  <h1>Sharded chat <span class="sub">· state</span></h1>
  <div class="summary">
    <span id="live" class="live wait">connecting…</span>
    <span>ring <b id="ring-version">—</b></span>
    <span><b id="shard-count">—</b> shards on the ring</span>
    <span><b id="instance-count">—</b> API instances</span>
  </div>
</header>
<div id="alerts" role="status"></div>
<main>
  <section class="card ring-card" aria-labelledby="ring-title">
    <h2 id="ring-title">Ring</h2>
    <svg id="ring" viewBox="0 0 440 440" role="img" aria-label="the hash ring: each shard's point and arc, to scale"></svg>
    <p class="legend">Hash 0 at the top, growing clockwise. Each shard owns the arc from its point to the next; a dashed arc inside the ring is moving in a reshard.</p>
  </section>
  <section class="card" aria-labelledby="job-title">
    <h2 id="job-title">Reshard</h2>
    <div id="job"><p class="empty">…</p></div>
  </section>
  <section class="card" aria-labelledby="instances-title">
    <h2 id="instances-title">API instances</h2>
    <div class="scroll"><table id="instances">
      <thead><tr><th>Instance</th><th class="num">Serves ring</th><th class="num">Heartbeat</th><th class="num">Live streams</th><th class="num">Events sent</th></tr></thead>
      <tbody id="instances-body"></tbody>
    </table></div>
  </section>
  <section class="card wide" aria-labelledby="shards-title">
    <h2 id="shards-title">Shards</h2>
    <div class="scroll"><table id="shards">
      <thead><tr>
        <th>Shard</th><th class="num">Point</th><th class="num">Arc</th><th class="num">Rows</th><th class="num">Size</th>
        <th class="num">Writes (1 min)</th><th>Health</th><th>Status</th><th>Load</th><th>Schema</th>
      </tr></thead>
      <tbody id="shards-body"></tbody>
    </table></div>
  </section>
  <section class="card wide" aria-labelledby="jobs-title">
    <h2 id="jobs-title">Recent reshards</h2>
    <div class="scroll"><table id="jobs">
      <thead><tr><th>Started</th><th>Job</th><th>Phase</th><th class="num hide-narrow">Rows</th><th class="hide-narrow">Verification</th></tr></thead>
      <tbody id="jobs-body"></tbody>
    </table></div>
  </section>
</main>
<footer>dialogdb schema <code id="dialogdb-migration">—</code> · served by instance <code id="served-by">—</code> · updates every second; no message text is shown.</footer>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** What a browser gets without a valid admin or viewer token: how to get one, and nothing else. */
export function unauthorizedPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>State · token needed</title>
<style nonce="${nonce}">
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f3f4f7; color: #1b2130; }
  @media (prefers-color-scheme: dark) { body { background: #0e1116; color: #e7eaf0; } pre { background: #171b23 !important; } }
  main { max-width: 640px; margin: 10vh auto; padding: 0 20px; }
  h1 { font-size: 22px; }
  pre { background: #fff; border: 1px solid #dfe3ea; border-radius: 8px; padding: 12px 14px; overflow-x: auto; font-size: 14px; }
</style>
</head>
<body>
<main>
  <h1>401: the state page needs a token</h1>
  <p>Open it with an admin token or a read-only viewer token (an ordinary user's token will not do). Mint a viewer token where the service runs:</p>
  <pre>npm run -s cli -- token ops --viewer --ttl 12h</pre>
  <p>then open <code>/state?token=&lt;the token&gt;</code>. Scripts may send it as <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
</main>
</body>
</html>
`;
}
