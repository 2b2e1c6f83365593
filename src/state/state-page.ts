import { RUNNING_PHASES } from '../reshard/workflow';

/**
 * The state page: one self-contained HTML document (inline CSS and JS, no external asset,
 * so it works offline and behind any proxy). It draws what GET /state/data returns and
 * polls it once a second. Everything it shows goes in through textContent and setAttribute,
 * never innerHTML, so a shard name cannot inject markup. A .ts module because `nest build`
 * only emits TypeScript; String.raw keeps the script's backslashes as written.
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

const SCRIPT = String.raw`
(function () {
  'use strict';
  var PHASES = ${JSON.stringify([...RUNNING_PHASES, 'done'])};
  var POLL_MS = 1000;
  var STALE_MS = 5000;
  var SVGNS = 'http://www.w3.org/2000/svg';
  var token = new URLSearchParams(location.search).get('token');
  // Relative to wherever the page is served (a proxy may mount it under a prefix).
  var dataUrl = location.pathname.replace(/\/+$/, '') + '/data';
  var lastOk = 0;
  var lastError = null;

  function $(id) { return document.getElementById(id); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] == null) continue;
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function s(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (attrs[k] != null) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }
  function title(text) { return s('title', {}, text); }

  function int(n) { return n == null ? '—' : Math.round(n).toLocaleString('en-US'); }
  function share(x) { return (x * 100).toFixed(x > 0 && x < 0.1 ? 2 : 1) + '%'; }
  function bytes(b) {
    if (b == null) return '—';
    var units = ['B', 'kB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (b >= 1000 && i < units.length - 1) { b /= 1000; i++; }
    return (i === 0 ? b : b.toFixed(b < 10 ? 1 : 0)) + ' ' + units[i];
  }
  function rate(r, unit) {
    if (r == null) return '—';
    return (r >= 100 ? int(r) : r >= 10 ? r.toFixed(0) : r.toFixed(1)) + (unit ? ' ' + unit : '/s');
  }
  function duration(sec) {
    if (sec == null) return '—';
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ' + String(sec % 60).padStart(2, '0') + ' s';
    return Math.floor(sec / 3600) + ' h ' + String(Math.floor((sec % 3600) / 60)).padStart(2, '0') + ' min';
  }
  function age(ms) { return ms < 10000 ? (ms / 1000).toFixed(1) + ' s' : duration(ms / 1000); }
  function ago(iso) { return age(Date.now() - Date.parse(iso)) + ' ago'; }
  function badge(kind, text) { return h('span', { class: 'badge ' + kind, text: text }); }
  function phaseBadge(phase) {
    var kind = phase === 'done' ? 'ok' : phase === 'failed' ? 'bad' : phase === 'cancelled' ? 'plain' : 'info';
    return badge(kind, phase);
  }
  function isOver(j) { return j.phase === 'done' || j.phase === 'cancelled'; }
  function shortId(id) { return id.slice(0, 8); }
  function migrationTime(name) { var m = /(\d{10,})$/.exec(name || ''); return m ? Number(m[1]) : -1; }

  function renderRing(d) {
    var svg = clear($('ring'));
    var L = d.layout;
    if (!L) { svg.appendChild(s('text', { x: 220, y: 220, 'text-anchor': 'middle', class: 'center-sub' }, 'ring not loaded')); return; }
    var c = L.center;
    svg.appendChild(s('circle', { cx: c, cy: c, r: L.radius, class: 'track' }));
    var arcs = s('g', { id: 'arcs' });
    L.arcs.forEach(function (a) {
      var path = s('path', { d: a.d, class: 'arc s' + a.color, 'data-shard': a.shard });
      path.appendChild(title(a.shard + ': [' + a.start + ', ' + a.end + '), ' + share(a.share) + ' of the ring'));
      arcs.appendChild(path);
      var label = s('text', { x: a.label.x, y: a.label.y, 'text-anchor': a.label.anchor, class: 'arc-label', 'data-shard': a.shard });
      label.appendChild(s('tspan', { class: 'arc-name', x: a.label.x, dy: '-0.15em' }, a.shard));
      label.appendChild(s('tspan', { class: 'arc-share', x: a.label.x, dy: '1.2em' }, share(a.share)));
      svg.appendChild(label);
    });
    svg.appendChild(arcs);
    L.moving.forEach(function (m) {
      var path = s('path', { d: m.d, class: 'moving-arc s' + m.color });
      path.appendChild(title('moving [' + m.start + ', ' + m.end + ') from ' + m.source + ' to ' + m.target));
      svg.appendChild(path);
      svg.appendChild(s('text', { x: m.label.x, y: m.label.y, dy: '0.35em', 'text-anchor': m.label.anchor, class: 'moving-label' }, '→ ' + m.target));
    });
    function knob(m, cls, tip) {
      svg.appendChild(s('line', { x1: m.tick.x1, y1: m.tick.y1, x2: m.tick.x2, y2: m.tick.y2, class: 'tick' + (cls === 'marker' ? '' : ' pending') }));
      var dot = s('circle', { cx: m.x, cy: m.y, r: 7, class: cls + ' s' + m.color, 'data-shard': m.shard, 'data-point': m.point });
      dot.appendChild(title(tip));
      svg.appendChild(dot);
      svg.appendChild(s('text', { x: m.label.x, y: m.label.y, dy: '0.35em', 'text-anchor': m.label.anchor, class: 'point-label' }, String(m.point)));
    }
    L.markers.forEach(function (m) { knob(m, 'marker', m.shard + ' starts at ' + m.point); });
    L.pending.forEach(function (m) { knob(m, 'pending-marker', m.shard + ' will start at ' + m.point + ' at cutover'); });
    var version = d.ring ? 'v' + d.ring.version : '';
    svg.appendChild(s('text', { x: c, y: c + 4, 'text-anchor': 'middle', class: 'center-version' }, version));
    svg.appendChild(s('text', { x: c, y: c + 26, 'text-anchor': 'middle', class: 'center-sub' }, 'ring version'));
  }

  function cell(col, label, content, cls) {
    var td = h('td', { 'data-col': col, 'data-label': label, class: cls });
    (Array.isArray(content) ? content : [content]).forEach(function (c) { if (c != null) td.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return td;
  }

  function renderShards(d) {
    var body = clear($('shards-body'));
    if (!d.shards) { body.appendChild(h('tr', {}, [h('td', { colspan: 10, class: 'muted', text: 'shards unavailable' })])); return; }
    var newest = Math.max.apply(null, d.shards.map(function (x) { return migrationTime(x.migration); }).concat([-1]));
    d.shards.forEach(function (x) {
      var rank = x.loadRank == null ? '—' : '#' + x.loadRank;
      var migration = x.migration == null ? h('span', { class: 'muted', text: '—' })
        : migrationTime(x.migration) < newest ? h('span', {}, [x.migration + ' ', badge('warn', 'behind')])
        : x.migration;
      body.appendChild(h('tr', { 'data-shard': x.name, class: x.splitCandidate ? 'candidate' : null }, [
        cell('name', 'Shard', [h('span', { class: 'swatch s' + x.color }), h('span', { class: 'name', text: x.name })]),
        cell('point', 'Point', x.point == null ? 'no arc' : String(x.point), 'num'),
        cell('arcShare', 'Arc', x.point == null ? '—' : share(x.arcShare), 'num'),
        cell('rows', 'Rows', int(x.rows), 'num'),
        cell('bytes', 'Size', bytes(x.bytes), 'num'),
        cell('writeRate', 'Writes', rate(x.writeRate), 'num'),
        cell('healthy', 'Health', x.healthy ? badge('ok', 'up') : badge('bad', 'down')),
        cell('status', 'Status', x.status === 'active' ? badge('plain', 'active') : badge('info', x.status)),
        cell('loadRank', 'Load', x.splitCandidate ? [rank + ' ', badge('warn', 'split candidate')] : rank),
        cell('migration', 'Schema', migration),
      ]));
    });
  }

  function renderInstances(d) {
    var body = clear($('instances-body'));
    if (!d.instances) { body.appendChild(h('tr', {}, [h('td', { colspan: 3, class: 'muted', text: 'instances unavailable' })])); return; }
    if (!d.instances.length) { body.appendChild(h('tr', {}, [h('td', { colspan: 3, class: 'muted', text: 'no live instance' })])); return; }
    var current = d.ring ? d.ring.version : 0;
    d.instances.forEach(function (i) {
      body.appendChild(h('tr', { 'data-instance': i.id }, [
        h('td', { title: i.id }, [h('code', { text: shortId(i.id) }), i.self ? ' ' : null, i.self ? badge('plain', 'this one') : null]),
        h('td', { class: 'num' }, ['v' + i.ringVersion, i.ringVersion < current ? ' ' : null, i.ringVersion < current ? badge('warn', 'behind') : null]),
        h('td', { class: 'num' }, [age(i.heartbeatAgeMs)]),
      ]));
    });
  }

  function fact(label, value, id, full) {
    return h('div', { class: full ? 'full' : null }, [h('dt', { text: label }), h('dd', { id: id }, [value])]);
  }

  function verificationText(v) {
    if (!v) return h('span', { class: 'muted', text: 'not yet' });
    if (v.passed) return h('span', {}, [badge('ok', 'passed'), ' ' + int(v.checked) + ' rows compared']);
    var parts = [];
    if (v.missing.length) parts.push('missing ' + v.missing.slice(0, 3).join(', '));
    if (v.changed.length) parts.push('changed ' + v.changed.slice(0, 3).join(', '));
    if (v.extra.length) parts.push('extra ' + v.extra.slice(0, 3).join(', '));
    return h('span', {}, [badge('bad', 'failed'), ' ' + int(v.differences) + ' difference(s) in ' + int(v.checked) + ' rows: ' + parts.join('; ')]);
  }

  function renderJob(d) {
    var box = clear($('job'));
    var j = d.job;
    var hot = (d.shards || []).filter(function (x) { return x.splitCandidate; })[0];
    if (hot && (!j || isOver(j))) {
      box.appendChild(h('p', { class: 'hint' }, [badge('warn', 'split candidate'), ' ', h('b', { text: hot.name }), ' takes most of the writes. Split it: ',
        h('code', { text: 'POST /admin/reshard {"split":"' + hot.name + '"}' })]));
    }
    if (!j) {
      box.appendChild(h('p', { class: 'empty', id: 'job-phase', 'data-phase': 'none', text: 'No reshard running.' }));
      return;
    }
    var failed = j.phase === 'failed' || j.phase === 'cancelled';
    box.appendChild(h('div', { class: 'job-title' }, [
      h('span', { class: 'what', text: j.kind + ' ' + j.source + ' → ' + j.target }),
      phaseBadge(j.phase),
      j.cancelRequested ? badge('warn', 'cancel requested') : null,
      h('span', { class: 'muted' }, ['job ', h('code', { text: shortId(j.id), title: j.id }),
        isOver(j) ? ' · ended ' + ago(j.updatedAt) : ' · started ' + ago(j.createdAt)]),
    ]));
    var reached = PHASES.indexOf(j.phase);
    if (failed) {
      // Where it stopped: the last phase it started.
      PHASES.forEach(function (p, i) { if (j.phaseTimes[p]) reached = i; });
    }
    var steps = h('ol', { class: 'phases' + (failed ? ' failed' : ''), 'aria-label': 'phases' });
    PHASES.forEach(function (p, i) {
      steps.appendChild(h('li', { class: i < reached ? 'past' : i === reached ? 'current' : null, text: p }));
    });
    box.appendChild(steps);
    var pct = j.total ? Math.min(1, j.copied / j.total) : reached > PHASES.indexOf('copy') && !failed ? 1 : 0;
    var bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct * 100), id: 'job-progress' }, [h('div')]);
    bar.firstChild.style.width = (pct * 100).toFixed(1) + '%';
    box.appendChild(bar);
    var facts = h('dl', { class: 'facts' }, [
      fact('Phase', j.phase, 'job-phase'),
      fact('Rows copied', int(j.copied) + ' / ' + (j.total == null ? '…' : int(j.total)) + ' (' + Math.round(pct * 100) + '%)', 'job-copied'),
      fact('Rate', j.phase === 'copy' ? rate(j.rate, 'rows/s') : '—', 'job-rate'),
      fact('ETA', j.phase === 'copy' ? duration(j.etaSeconds) : j.phase === 'done' ? 'done' : '—', 'job-eta'),
      fact('Verification', verificationText(j.verification), 'job-verification', true),
      j.error ? fact('Last error', h('span', { class: failed ? 'bad' : null, text: j.error }), 'job-error', true) : null,
    ]);
    box.appendChild(facts);
    box.querySelector('#job-phase').setAttribute('data-phase', j.phase);
  }

  function renderJobs(d) {
    var body = clear($('jobs-body'));
    var jobs = d.recentJobs || [];
    if (!jobs.length) { body.appendChild(h('tr', {}, [h('td', { colspan: 5, class: 'muted', text: d.recentJobs ? 'none yet' : 'jobs unavailable' })])); return; }
    jobs.forEach(function (j) {
      var over = j.phase === 'done' || j.phase === 'cancelled';
      body.appendChild(h('tr', { 'data-job': j.id }, [
        h('td', { title: j.createdAt, text: ago(j.createdAt) }),
        h('td', {}, [j.kind + ' ' + j.source + ' → ' + j.target]),
        h('td', {}, [phaseBadge(j.phase)]),
        h('td', { class: 'num hide-narrow', text: int(j.copied) + (j.total == null ? '' : ' / ' + int(j.total)) }),
        h('td', { class: 'hide-narrow' }, [j.verification ? (j.verification.passed ? badge('ok', 'passed') : badge('bad', j.verification.differences + ' diff')) : '—',
          over ? ' in ' + duration((Date.parse(j.updatedAt) - Date.parse(j.createdAt)) / 1000) : null]),
      ]));
    });
  }

  function renderAlerts(d) {
    var box = clear($('alerts'));
    (d.errors || []).forEach(function (e) { box.appendChild(h('div', { class: 'alert bad', text: e })); });
    if (d.ring && d.ring.refreshAgeMs > d.ring.leaseMs) {
      box.appendChild(h('div', { class: 'alert bad', text: 'This instance has not refreshed its ring for ' + age(d.ring.refreshAgeMs) + ': it answers 503 until it can.' }));
    }
    if (d.job && d.job.phase === 'failed') {
      box.appendChild(h('div', { class: 'alert bad' }, ['Reshard ' + shortId(d.job.id) + ' failed: ' + (d.job.error || 'see the job') + ' Cancel it with ',
        h('code', { text: 'POST /admin/reshard/' + d.job.id + '/cancel' })]));
    }
  }

  function render(d) {
    renderAlerts(d);
    renderRing(d);
    renderShards(d);
    renderInstances(d);
    renderJob(d);
    renderJobs(d);
    $('ring-version').textContent = d.ring ? 'v' + d.ring.version : '—';
    $('shard-count').textContent = d.layout ? String(d.layout.markers.length) : '—';
    $('instance-count').textContent = d.instances ? String(d.instances.length) : '—';
    $('dialogdb-migration').textContent = d.dialogdbMigration || '—';
    $('served-by').textContent = shortId(d.instanceId);
  }

  function tick() {
    var live = $('live');
    if (!lastOk) { live.className = lastError ? 'live stale' : 'live wait'; live.textContent = lastError || 'connecting…'; return; }
    var since = Date.now() - lastOk;
    var stale = since > STALE_MS;
    live.className = 'live' + (stale ? ' stale' : '');
    live.textContent = (stale ? 'stale' : 'live') + ' · updated ' + age(since) + ' ago' + (stale && lastError ? ' · ' + lastError : '');
  }

  function poll() {
    var headers = token ? { Authorization: 'Bearer ' + token } : {};
    fetch(dataUrl, { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 401) throw new Error('token rejected (expired?): get a new one with npm run -s cli -- token <name> --viewer');
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (d) { lastOk = Date.now(); lastError = null; render(d); })
      .catch(function (err) { lastError = err.message || String(err); })
      .then(function () { tick(); setTimeout(poll, POLL_MS); });
  }

  setInterval(tick, 250);
  poll();
})();
`;

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
      <thead><tr><th>Instance</th><th class="num">Serves ring</th><th class="num">Heartbeat</th></tr></thead>
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
