import type { ReshardJobDto, VerificationDto } from '../reshard/reshard.dto';
import { isPhase, Phase, PHASES, TERMINAL_PHASES } from '../reshard/workflow';

/**
 * Turning a reshard job (the JSON of GET /admin/reshard/:id) into text. Pure, so what an
 * operator reads during the riskiest operation of the service is pinned by unit tests.
 */
export type ReshardJob = ReshardJobDto;

/** How many ids of each kind of difference to show; the API keeps up to a hundred. */
const SHOWN_IDS = 5;
/** CI logs get a progress line at most this often... */
export const PROGRESS_EVERY_MS = 5_000;
/** ...and some sign of life at least this often, so a slow phase does not look like a hang. */
export const KEEPALIVE_EVERY_MS = 60_000;

/**
 * A job has ended when nothing will move it any more. A failed job whose cancel was
 * requested is still moving: the runner is rolling it back.
 */
export function hasEnded(job: Pick<ReshardJob, 'phase' | 'cancelRequested'>): boolean {
  return TERMINAL_PHASES.includes(job.phase) || (job.phase === 'failed' && !job.cancelRequested);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const min = Math.floor((s % 3600) / 60);
  return min ? `${Math.floor(s / 3600)} h ${min} min` : `${s / 3600} h`;
}

function arrow(job: ReshardJob): string {
  return `${job.source} → ${job.target}`;
}

/** Seconds between two of the job's own timestamps (server clock), or null when one is missing. */
function elapsed(job: ReshardJob, from: string, to: string): number | null {
  const start = job.phaseTimes?.[from]?.startedAt;
  const end = job.phaseTimes?.[to]?.startedAt;
  if (!start || !end) return null;
  return (Date.parse(end) - Date.parse(start)) / 1000;
}

/** The one line that says what the job is. */
export function headline(job: ReshardJob): string {
  return `reshard ${job.id}: ${job.kind} ${arrow(job)}`;
}

/** What a phase does, said when the job enters it: the operator learns what is at stake now. */
export function phaseLine(job: ReshardJob): string {
  const { source, target } = job;
  switch (job.phase) {
    case 'prepare':
      return `prepare: readying ${target} and waiting for every instance to read the moved arc from both shards`;
    case 'copy':
      return `copy: writes of the moved arc now go to ${target}; copying the rows of ${source}`;
    case 'verify':
      return `verify: comparing ${source} and ${target} row by row (${job.copied} rows copied)`;
    case 'cutover':
      return `cutover: switching reads and writes of the moved arc to ${target}`;
    case 'cleanup':
      return job.kind === 'move' ? `cleanup: retiring ${source}` : `cleanup: deleting the moved rows from ${source}`;
    case 'done':
      return 'done';
    case 'failed':
      return `failed: ${job.error ?? 'no reason recorded'}`;
    case 'cancelled':
      return 'cancelled: the old ring is back';
    default:
      return `${job.phase}`;
  }
}

/** `1200/5000 rows`, `830 rows/s`, `eta 5 s`: rate and eta only while the copier measures them. */
function figures(job: ReshardJob): string[] {
  const parts = [`${job.copied}/${job.total ?? '?'} rows`];
  if (job.phase === 'copy' && job.rate) {
    parts.push(`${job.rate} rows/s`);
    if (job.etaSeconds !== null) parts.push(`eta ${formatDuration(job.etaSeconds)}`);
  }
  return parts;
}

export function progressFigures(job: ReshardJob): string {
  return figures(job).join(', ');
}

/** The plain-log progress line, e.g. `copy: 1200/5000 rows, 830 rows/s, eta 5 s`. */
export function progressLine(job: ReshardJob): string {
  if (job.phase === 'copy' && job.total === null) return 'copy: estimating the rows to copy';
  return `${job.phase}: ${progressFigures(job)}`;
}

/**
 * The live bar's line; `bar` is drawn by cli-progress, everything else comes from the job.
 * A job that ended short of done is one line saying so where the bar was: a bar left half
 * full would read as a copy still under way.
 */
export function barLine(job: ReshardJob, bar: string): string {
  if (hasEnded(job) && job.phase !== 'done') {
    const at = `${job.copied}/${job.total ?? '?'} rows copied`;
    return job.phase === 'cancelled' ? `cancelled at ${at}: the old ring is back` : `failed at ${at}: ${job.error ?? 'no reason recorded'}`;
  }
  return `${job.phase.padEnd(9)} [${bar}] ${figures(job).join(' | ')}`;
}

/** How far the bar is filled: the copy's share, full once the rows are across. */
export function barProgress(job: ReshardJob): number {
  if (!job.total) return job.phase === 'prepare' || job.phase === 'copy' ? 0 : 1;
  return Math.min(1, job.copied / job.total);
}

function ids(list: string[], count: number): string {
  if (count === 0) return '';
  const shown = list.slice(0, SHOWN_IDS).join(', ');
  return count > SHOWN_IDS ? `: ${shown}, and ${count - SHOWN_IDS} more` : `: ${shown}`;
}

export function verificationLines(v: VerificationDto | null): string[] {
  if (!v) return ['verification: not run'];
  if (v.passed) return [`verification passed: ${v.checked} rows checked, no differences`];
  const marks = v.marks ?? [];
  const listed = v.missing.length + v.changed.length + v.extra.length + marks.length;
  return [
    `verification failed: ${v.checked} rows checked, ${v.differences} difference(s)` +
      (v.differences > listed ? ' (the API lists the first 100 ids of each kind)' : ''),
    `  missing on the target (${v.missing.length})${ids(v.missing, v.missing.length)}`,
    `  changed (${v.changed.length})${ids(v.changed, v.changed.length)}`,
    `  extra on the target (${v.extra.length})${ids(v.extra, v.extra.length)}`,
    ...(marks.length ? [`  read marks missing or behind on the target (${marks.length})${ids(marks, marks.length)}`] : []),
  ];
}

/** What is printed when following ends: the outcome, then what verification found. */
export function summaryLines(job: ReshardJob): string[] {
  const lines = [headline(job)];
  switch (job.phase) {
    case 'done': {
      const took = elapsed(job, 'prepare', 'done');
      const time = took === null ? '' : took < 1 ? ' in under 1 s' : ` in ${formatDuration(took)}`;
      lines.push(`done${time}: ${job.copied} rows copied to ${job.target}`);
      break;
    }
    case 'cancelled':
      lines.push(`cancelled: the old ring is back and ${job.source} holds the moved arc again`);
      break;
    default:
      lines.push(phaseLine(job));
  }
  return [...lines, ...verificationLines(job.verification)];
}

/** `reshard status`: everything an operator needs to decide whether to wait, cancel or dig. */
export function statusLines(job: ReshardJob): string[] {
  const phase = job.cancelRequested && job.phase !== 'cancelled' ? `${job.phase} (cancel requested)` : job.phase;
  const lines = [headline(job), `phase:    ${phase}`, `progress: ${progressFigures(job)}`];
  for (const arc of job.moved ?? []) lines.push(`arc:      [${arc.start}, ${arc.end}) ${arc.source} → ${arc.target}`);
  lines.push(`created:  ${job.createdAt}`, `updated:  ${job.updatedAt}`);
  if (job.error && job.phase !== 'failed') lines.push(`last error (the job retries): ${job.error}`);
  if (job.phase === 'failed') lines.push(phaseLine(job));
  return [...lines, ...verificationLines(job.verification)];
}

/** `reshard list`: one line per job, newest first as the API returns them. */
export function listLine(job: ReshardJob): string {
  const verdict = job.verification ? (job.verification.passed ? 'verified' : 'verification failed') : '';
  return [job.id, job.createdAt, `${job.kind} ${arrow(job)}`, job.phase, `${job.copied}/${job.total ?? '?'} rows`, verdict]
    .filter(Boolean)
    .join('  ');
}

/** The phases the job has entered, in order, from its own record rather than from what a poll saw. */
export function phasesSoFar(job: ReshardJob): Phase[] {
  const phases = Object.keys(job.phaseTimes ?? {}).filter(isPhase);
  if (!phases.includes(job.phase)) phases.push(job.phase);
  return phases.sort((a, b) => PHASES.indexOf(a) - PHASES.indexOf(b));
}

/** What the log has said so far, so that it says each thing once. */
export interface LogState {
  /** Phases already named: polls miss short phases, which are named when a later poll shows them passed. */
  named: string[];
  error: string | null;
  cancelRequested: boolean;
  lastProgress: string | null;
  lastProgressAt: number;
  lastLineAt: number;
}

export interface LogUpdate {
  /** Phase changes, errors, a cancel request: always worth a line, in a bar's log too. */
  events: string[];
  /** A progress line, throttled for logs; a live bar shows progress by itself. */
  progress: string | null;
  state: LogState;
}

/**
 * Decides what a new poll of the job adds to the log: a line per phase entered, per new
 * error and for a cancel request, and at most one progress line every PROGRESS_EVERY_MS.
 * `history: false` names only phases entered after the first poll, for a job joined midway
 * (`reshard cancel`), where its past would read as news. `now` is the caller's clock.
 */
export function logUpdate(previous: LogState | null, job: ReshardJob, now: number, { history = true } = {}): LogUpdate {
  const events: string[] = [];
  const ended = hasEnded(job);
  const state: LogState = previous
    ? { ...previous, named: [...previous.named] }
    : {
        named: history ? [] : phasesSoFar(job),
        error: null,
        cancelRequested: false,
        lastProgress: null,
        lastProgressAt: -Infinity,
        lastLineAt: now,
      };
  for (const phase of phasesSoFar(job)) {
    if (state.named.includes(phase)) continue;
    state.named.push(phase);
    // The summary says how an ended job ended; a phase line would only repeat it.
    if (!(ended && phase === job.phase)) events.push(phaseLine({ ...job, phase }));
  }
  if (job.cancelRequested && !state.cancelRequested && !ended) {
    events.push('cancel requested: restoring the old ring and copying back what was written to the target');
  }
  state.cancelRequested = job.cancelRequested;
  if (job.error && job.error !== state.error && job.phase !== 'failed' && !ended) {
    events.push(`${job.phase}: error, the job will retry: ${job.error}`);
  }
  state.error = job.error;

  let progress: string | null = null;
  if (!ended && now - state.lastProgressAt >= PROGRESS_EVERY_MS) {
    // A rollback has no row count of its own; the copy's figures would read as progress.
    const line = job.phase === 'copy' && !job.cancelRequested ? progressLine(job) : null;
    const quiet = now - Math.max(state.lastLineAt, state.lastProgressAt) >= KEEPALIVE_EVERY_MS;
    if (line !== null && (line !== state.lastProgress || quiet)) progress = line;
    else if (quiet && events.length === 0) progress = job.cancelRequested ? `${job.phase}: still cancelling` : `${job.phase}: still running`;
  }
  if (progress !== null) {
    state.lastProgress = progress;
    state.lastProgressAt = now;
  }
  if (events.length > 0) state.lastLineAt = now;
  return { events, progress, state };
}
