/**
 * What the state page's script reads: the JSON of GET /state/data and the settings the server
 * hands it. Types only, with no import, so both the server's program and the browser's
 * (tsconfig.browser.json, DOM and no Node) can use them; the server's StateData extends
 * StateView, so the compiler holds the two sides to one contract.
 */

export interface Xy {
  x: number;
  y: number;
}

export type Label = Xy & { anchor: 'start' | 'middle' | 'end' };

export interface LaidOutArc {
  shard: string;
  start: number;
  end: number;
  /** Fraction of the ring, 0..1. */
  share: number;
  /** SVG path data of the arc on the ring. */
  d: string;
  color: number;
  /** Where its label goes: outside the ring at the arc's middle. */
  label: Label;
}

export interface Marker extends Xy {
  shard: string;
  point: number;
  color: number;
  /** A radial tick across the ring's band, exactly at the point. */
  tick: { x1: number; y1: number; x2: number; y2: number };
  /** Where the point's number goes, just inside the ring. */
  label: Label;
}

export interface MovingArc {
  source: string;
  target: string;
  start: number;
  end: number;
  d: string;
  color: number;
  /** Where "→ target" goes: inside the dashed arc, at its middle. */
  label: Label;
}

/** The ring drawing, computed by the server (ring-layout.ts) so the browser only places it. */
export interface RingLayout {
  size: number;
  center: number;
  radius: number;
  arcs: LaidOutArc[];
  markers: Marker[];
  /** Arcs a running reshard moves, drawn inside the ring. */
  moving: MovingArc[];
  /** Where a running reshard's target will start: a hollow marker until cutover. */
  pending: Marker[];
}

export interface ShardView {
  name: string;
  point: number | null;
  arcShare: number;
  rows: number | null;
  bytes: number | null;
  writeRate: number | null;
  healthy: boolean;
  status: string;
  loadRank: number | null;
  splitCandidate: boolean;
  color: number;
  migration: string | null;
}

export interface InstanceView {
  id: string;
  ringVersion: number;
  /** Milliseconds since its last heartbeat, by dialogdb's clock. */
  heartbeatAgeMs: number;
  /** The instance that answered this request. */
  self: boolean;
  /** Live event streams open on it, and events it has written to streams since it started. */
  streams: number;
  eventsSent: number;
}

export interface VerificationView {
  passed: boolean;
  /** Messages and read marks compared, together. */
  checked: number;
  differences: number;
  missing: string[];
  changed: string[];
  extra: string[];
  /** Read marks missing or behind on the target (the first 100); absent in jobs from before read marks. */
  marks?: string[];
  /** The read marks' part of `checked` and `differences`; absent in jobs verified before they were counted apart. */
  marksChecked?: number;
  marksDifferences?: number;
}

export interface JobView {
  id: string;
  kind: string;
  source: string;
  target: string;
  phase: string;
  copied: number;
  total: number | null;
  rate: number | null;
  etaSeconds: number | null;
  verification: VerificationView | null;
  cancelRequested: boolean;
  error: string | null;
  /** Phases the job has started, by name. */
  phaseTimes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** One poll's worth; a part is null when the database behind it did not answer (`errors` says which). */
export interface StateView {
  instanceId: string;
  ring: { version: number; refreshAgeMs: number; leaseMs: number } | null;
  layout: RingLayout | null;
  shards: ShardView[] | null;
  dialogdbMigration: string | null;
  instances: InstanceView[] | null;
  job: JobView | null;
  recentJobs: JobView[] | null;
  errors: string[];
}

/** What the server tells the script when it serves the page (state.html's `<body data-phases>`). */
export interface PageConfig {
  /** A job's phases from start to done, in order: the strip the page draws. */
  phases: readonly string[];
}
