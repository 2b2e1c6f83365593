// A classic script, not a module (the types come in through import() types, which make
// none), so the compiled file runs as it is from a plain <script src>.
type JobView = import('./state-view').JobView;
type Marker = import('./state-view').Marker;
type PageConfig = import('./state-view').PageConfig;
type StateView = import('./state-view').StateView;
type VerificationView = import('./state-view').VerificationView;

/**
 * The state page's script, run in the browser. It draws what GET /state/data returns and
 * polls it once a second. Everything it shows goes in through textContent and setAttribute,
 * never innerHTML, so a shard name cannot inject markup.
 *
 * Type-checked against the DOM, without Node, by tsconfig.browser.json, which `npm run build`
 * runs to emit it beside the page's HTML and CSS (state.html loads it as state/assets/...).
 * What it needs from the server it reads from the page: the phases from <body data-phases>,
 * the token from the page's own `?token=`.
 */
function runStatePage(config: PageConfig): void {
  'use strict';
  const PHASES = config.phases;
  const POLL_MS = 1000;
  const STALE_MS = 5000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const token = new URLSearchParams(location.search).get('token');
  // Relative to wherever the page is served (a proxy may mount it under a prefix).
  const dataUrl = location.pathname.replace(/\/+$/, '') + '/data';
  let lastOk = 0;
  let lastError: string | null = null;

  type Attrs = Record<string, string | number | boolean | null | undefined>;
  type Child = Node | string | null | undefined;

  function $(id: string): HTMLElement {
    const node = document.getElementById(id);
    if (!node) throw new Error(`the page has no #${id}`);
    return node;
  }
  function clear<T extends Element>(node: T): T {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function append(node: Element, children: readonly Child[]): void {
    for (const c of children) if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = String(v);
      else node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
  }
  function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs, text?: string): SVGElementTagNameMap[K] {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
    if (text != null) node.textContent = text;
    return node;
  }
  function title(text: string): SVGTitleElement {
    return s('title', {}, text);
  }

  function int(n: number | null): string {
    return n == null ? '—' : Math.round(n).toLocaleString('en-US');
  }
  function share(x: number): string {
    return (x * 100).toFixed(x > 0 && x < 0.1 ? 2 : 1) + '%';
  }
  function bytes(b: number | null): string {
    if (b == null) return '—';
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (b >= 1000 && i < units.length - 1) {
      b /= 1000;
      i++;
    }
    return (i === 0 ? b : b.toFixed(b < 10 ? 1 : 0)) + ' ' + units[i];
  }
  function rate(r: number | null, unit?: string): string {
    if (r == null) return '—';
    return (r >= 100 ? int(r) : r >= 10 ? r.toFixed(0) : r.toFixed(1)) + (unit ? ' ' + unit : '/s');
  }
  function duration(sec: number | null): string {
    if (sec == null) return '—';
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ' + String(sec % 60).padStart(2, '0') + ' s';
    return Math.floor(sec / 3600) + ' h ' + String(Math.floor((sec % 3600) / 60)).padStart(2, '0') + ' min';
  }
  function age(ms: number): string {
    return ms < 10000 ? (ms / 1000).toFixed(1) + ' s' : duration(ms / 1000);
  }
  function ago(iso: string): string {
    return age(Date.now() - Date.parse(iso)) + ' ago';
  }
  function badge(kind: string, text: string): HTMLSpanElement {
    return h('span', { class: 'badge ' + kind, text });
  }
  function phaseBadge(phase: string): HTMLSpanElement {
    const kind = phase === 'done' ? 'ok' : phase === 'failed' ? 'bad' : phase === 'cancelled' ? 'plain' : 'info';
    return badge(kind, phase);
  }
  function isOver(j: JobView): boolean {
    return j.phase === 'done' || j.phase === 'cancelled';
  }
  function shortId(id: string): string {
    return id.slice(0, 8);
  }
  function migrationTime(name: string | null): number {
    const m = /(\d{10,})$/.exec(name || '');
    return m ? Number(m[1]) : -1;
  }

  function renderRing(d: StateView): void {
    const svg = clear($('ring'));
    const L = d.layout;
    if (!L) {
      svg.appendChild(s('text', { x: 220, y: 220, 'text-anchor': 'middle', class: 'center-sub' }, 'ring not loaded'));
      return;
    }
    const c = L.center;
    svg.appendChild(s('circle', { cx: c, cy: c, r: L.radius, class: 'track' }));
    const arcs = s('g', { id: 'arcs' });
    for (const a of L.arcs) {
      const path = s('path', { d: a.d, class: 'arc s' + a.color, 'data-shard': a.shard });
      path.appendChild(title(a.shard + ': [' + a.start + ', ' + a.end + '), ' + share(a.share) + ' of the ring'));
      arcs.appendChild(path);
      const label = s('text', { x: a.label.x, y: a.label.y, 'text-anchor': a.label.anchor, class: 'arc-label', 'data-shard': a.shard });
      label.appendChild(s('tspan', { class: 'arc-name', x: a.label.x, dy: '-0.15em' }, a.shard));
      label.appendChild(s('tspan', { class: 'arc-share', x: a.label.x, dy: '1.2em' }, share(a.share)));
      svg.appendChild(label);
    }
    svg.appendChild(arcs);
    for (const m of L.moving) {
      const path = s('path', { d: m.d, class: 'moving-arc s' + m.color });
      path.appendChild(title('moving [' + m.start + ', ' + m.end + ') from ' + m.source + ' to ' + m.target));
      svg.appendChild(path);
      svg.appendChild(s('text', { x: m.label.x, y: m.label.y, dy: '0.35em', 'text-anchor': m.label.anchor, class: 'moving-label' }, '→ ' + m.target));
    }
    function knob(m: Marker, cls: 'marker' | 'pending-marker', tip: string): void {
      svg.appendChild(s('line', { x1: m.tick.x1, y1: m.tick.y1, x2: m.tick.x2, y2: m.tick.y2, class: 'tick' + (cls === 'marker' ? '' : ' pending') }));
      const dot = s('circle', { cx: m.x, cy: m.y, r: 7, class: cls + ' s' + m.color, 'data-shard': m.shard, 'data-point': m.point });
      dot.appendChild(title(tip));
      svg.appendChild(dot);
      svg.appendChild(s('text', { x: m.label.x, y: m.label.y, dy: '0.35em', 'text-anchor': m.label.anchor, class: 'point-label' }, String(m.point)));
    }
    for (const m of L.markers) knob(m, 'marker', m.shard + ' starts at ' + m.point);
    for (const m of L.pending) knob(m, 'pending-marker', m.shard + ' will start at ' + m.point + ' at cutover');
    const version = d.ring ? 'v' + d.ring.version : '';
    svg.appendChild(s('text', { x: c, y: c + 4, 'text-anchor': 'middle', class: 'center-version' }, version));
    svg.appendChild(s('text', { x: c, y: c + 26, 'text-anchor': 'middle', class: 'center-sub' }, 'ring version'));
  }

  function cell(col: string, label: string, content: Child | Child[], cls?: string): HTMLTableCellElement {
    const td = h('td', { 'data-col': col, 'data-label': label, class: cls });
    append(td, Array.isArray(content) ? content : [content]);
    return td;
  }

  function renderShards(d: StateView): void {
    const body = clear($('shards-body'));
    if (!d.shards) {
      body.appendChild(h('tr', {}, [h('td', { colspan: 10, class: 'muted', text: 'shards unavailable' })]));
      return;
    }
    const newest = Math.max(-1, ...d.shards.map((x) => migrationTime(x.migration)));
    for (const x of d.shards) {
      const rank = x.loadRank == null ? '—' : '#' + x.loadRank;
      const migration =
        x.migration == null
          ? h('span', { class: 'muted', text: '—' })
          : migrationTime(x.migration) < newest
            ? h('span', {}, [x.migration + ' ', badge('warn', 'behind')])
            : x.migration;
      body.appendChild(
        h('tr', { 'data-shard': x.name, class: x.splitCandidate ? 'candidate' : null }, [
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
        ]),
      );
    }
  }

  function renderInstances(d: StateView): void {
    const body = clear($('instances-body'));
    if (!d.instances) {
      body.appendChild(h('tr', {}, [h('td', { colspan: 5, class: 'muted', text: 'instances unavailable' })]));
      return;
    }
    if (!d.instances.length) {
      body.appendChild(h('tr', {}, [h('td', { colspan: 5, class: 'muted', text: 'no live instance' })]));
      return;
    }
    const current = d.ring ? d.ring.version : 0;
    for (const i of d.instances) {
      const behind = i.ringVersion < current;
      body.appendChild(
        h('tr', { 'data-instance': i.id }, [
          h('td', { title: i.id }, [h('code', { text: shortId(i.id) }), i.self ? ' ' : null, i.self ? badge('plain', 'this one') : null]),
          h('td', { class: 'num' }, ['v' + i.ringVersion, behind ? ' ' : null, behind ? badge('warn', 'behind') : null]),
          h('td', { class: 'num' }, [age(i.heartbeatAgeMs)]),
          h('td', { class: 'num' }, [int(i.streams)]),
          h('td', { class: 'num' }, [int(i.eventsSent)]),
        ]),
      );
    }
  }

  function fact(label: string, value: Child, id: string, full?: boolean): HTMLDivElement {
    return h('div', { class: full ? 'full' : null }, [h('dt', { text: label }), h('dd', { id }, [value])]);
  }

  /** One kind's line of a verification: how many were compared (when known), how many differ, and the first few. */
  function verifiedKind(id: string, what: string, checked: number | null, differences: number, named: string[]): HTMLSpanElement {
    return h('span', {
      id,
      text:
        what +
        ': ' +
        (checked == null ? '' : int(checked) + ' checked, ') +
        (differences ? int(differences) + ' difference(s)' : 'no differences') +
        (named.length ? ' (' + named.join('; ') + ')' : ''),
    });
  }

  function verificationText(v: VerificationView | null): HTMLSpanElement {
    if (!v) return h('span', { class: 'muted', text: 'not yet' });
    const first = (ids: string[]) => ids.slice(0, 3).join(', ');
    // Jobs from before read marks have no `marks`; those verified before marks were counted
    // apart have the list but no counts: their `checked` is all messages, as far as we know.
    const marksDifferences = v.marksDifferences ?? (v.marks ? v.marks.length : 0);
    const named: string[] = [];
    if (v.missing.length) named.push('missing ' + first(v.missing));
    if (v.changed.length) named.push('changed ' + first(v.changed));
    if (v.extra.length) named.push('extra ' + first(v.extra));
    return h('span', {}, [
      v.passed ? badge('ok', 'passed') : badge('bad', 'failed'),
      ' ',
      verifiedKind('job-verification-messages', 'messages', v.checked - (v.marksChecked ?? 0), v.differences - marksDifferences, named),
      v.marks ? ' · ' : null,
      v.marks
        ? verifiedKind('job-verification-marks', 'read marks', v.marksChecked ?? null, marksDifferences, v.marks.length ? ['missing or behind ' + first(v.marks)] : [])
        : null,
    ]);
  }

  function renderJob(d: StateView): void {
    const box = clear($('job'));
    const j = d.job;
    const hot = (d.shards || []).find((x) => x.splitCandidate);
    if (hot && (!j || isOver(j))) {
      box.appendChild(
        h('p', { class: 'hint' }, [
          badge('warn', 'split candidate'),
          ' ',
          h('b', { text: hot.name }),
          ' takes most of the writes. Split it: ',
          h('code', { text: 'POST /admin/reshard {"split":"' + hot.name + '"}' }),
        ]),
      );
    }
    if (!j) {
      box.appendChild(h('p', { class: 'empty', id: 'job-phase', 'data-phase': 'none', text: 'No reshard running.' }));
      return;
    }
    const failed = j.phase === 'failed' || j.phase === 'cancelled';
    box.appendChild(
      h('div', { class: 'job-title' }, [
        h('span', { class: 'what', text: j.kind + ' ' + j.source + ' → ' + j.target }),
        phaseBadge(j.phase),
        j.cancelRequested ? badge('warn', 'cancel requested') : null,
        h('span', { class: 'muted' }, [
          'job ',
          h('code', { text: shortId(j.id), title: j.id }),
          isOver(j) ? ' · ended ' + ago(j.updatedAt) : ' · started ' + ago(j.createdAt),
        ]),
      ]),
    );
    let reached = PHASES.indexOf(j.phase);
    if (failed) {
      // Where it stopped: the last phase it started.
      PHASES.forEach((p, i) => {
        if (j.phaseTimes[p]) reached = i;
      });
    }
    const steps = h('ol', { class: 'phases' + (failed ? ' failed' : ''), 'aria-label': 'phases' });
    PHASES.forEach((p, i) => steps.appendChild(h('li', { class: i < reached ? 'past' : i === reached ? 'current' : null, text: p })));
    box.appendChild(steps);
    const pct = j.total ? Math.min(1, j.copied / j.total) : reached > PHASES.indexOf('copy') && !failed ? 1 : 0;
    const fill = h('div');
    fill.style.width = (pct * 100).toFixed(1) + '%';
    box.appendChild(
      h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct * 100), id: 'job-progress' }, [fill]),
    );
    box.appendChild(
      h('dl', { class: 'facts' }, [
        fact('Phase', j.phase, 'job-phase'),
        fact('Rows copied', int(j.copied) + ' / ' + (j.total == null ? '…' : int(j.total)) + ' (' + Math.round(pct * 100) + '%)', 'job-copied'),
        fact('Rate', j.phase === 'copy' ? rate(j.rate, 'rows/s') : '—', 'job-rate'),
        fact('ETA', j.phase === 'copy' ? duration(j.etaSeconds) : j.phase === 'done' ? 'done' : '—', 'job-eta'),
        fact('Verification', verificationText(j.verification), 'job-verification', true),
        j.error ? fact('Last error', h('span', { class: failed ? 'bad' : null, text: j.error }), 'job-error', true) : null,
      ]),
    );
    box.querySelector('#job-phase')?.setAttribute('data-phase', j.phase);
  }

  function renderJobs(d: StateView): void {
    const body = clear($('jobs-body'));
    const jobs = d.recentJobs || [];
    if (!jobs.length) {
      body.appendChild(h('tr', {}, [h('td', { colspan: 5, class: 'muted', text: d.recentJobs ? 'none yet' : 'jobs unavailable' })]));
      return;
    }
    for (const j of jobs) {
      body.appendChild(
        h('tr', { 'data-job': j.id }, [
          h('td', { title: j.createdAt, text: ago(j.createdAt) }),
          h('td', {}, [j.kind + ' ' + j.source + ' → ' + j.target]),
          h('td', {}, [phaseBadge(j.phase)]),
          h('td', { class: 'num hide-narrow', text: int(j.copied) + (j.total == null ? '' : ' / ' + int(j.total)) }),
          h('td', { class: 'hide-narrow' }, [
            j.verification ? (j.verification.passed ? badge('ok', 'passed') : badge('bad', j.verification.differences + ' diff')) : '—',
            isOver(j) ? ' in ' + duration((Date.parse(j.updatedAt) - Date.parse(j.createdAt)) / 1000) : null,
          ]),
        ]),
      );
    }
  }

  function renderAlerts(d: StateView): void {
    const box = clear($('alerts'));
    for (const e of d.errors || []) box.appendChild(h('div', { class: 'alert bad', text: e }));
    if (d.ring && d.ring.refreshAgeMs > d.ring.leaseMs) {
      box.appendChild(h('div', { class: 'alert bad', text: 'This instance has not refreshed its ring for ' + age(d.ring.refreshAgeMs) + ': it answers 503 until it can.' }));
    }
    if (d.job && d.job.phase === 'failed') {
      box.appendChild(
        h('div', { class: 'alert bad' }, [
          'Reshard ' + shortId(d.job.id) + ' failed: ' + (d.job.error || 'see the job') + ' Cancel it with ',
          h('code', { text: 'POST /admin/reshard/' + d.job.id + '/cancel' }),
        ]),
      );
    }
  }

  function render(d: StateView): void {
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

  function tick(): void {
    const live = $('live');
    if (!lastOk) {
      live.className = lastError ? 'live stale' : 'live wait';
      live.textContent = lastError || 'connecting…';
      return;
    }
    const since = Date.now() - lastOk;
    const stale = since > STALE_MS;
    live.className = 'live' + (stale ? ' stale' : '');
    live.textContent = (stale ? 'stale' : 'live') + ' · updated ' + age(since) + ' ago' + (stale && lastError ? ' · ' + lastError : '');
  }

  function poll(): void {
    const headers: Record<string, string> = token ? { Authorization: 'Bearer ' + token } : {};
    fetch(dataUrl, { headers, cache: 'no-store', credentials: 'same-origin' })
      .then((res) => {
        if (res.status === 401) throw new Error('token rejected (expired?): get a new one with npm run -s cli -- token <name> --viewer');
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json() as Promise<StateView>;
      })
      .then((d) => {
        lastOk = Date.now();
        lastError = null;
        render(d);
      })
      .catch((err: unknown) => {
        lastError = err instanceof Error ? err.message : String(err);
      })
      .then(() => {
        tick();
        setTimeout(poll, POLL_MS);
      });
  }

  setInterval(tick, 250);
  poll();
}

runStatePage({ phases: (document.body.dataset.phases ?? '').split(' ').filter(Boolean) });
