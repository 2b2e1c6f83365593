import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The parts of a V8 .cpuprofile the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  /** Share of the non-idle samples in the window. */
  share: number;
}

export interface ProfileSummary {
  label: string;
  /** Samples in the window (about one per millisecond). */
  samples: number;
  /** Share of samples in which the service's thread was idle (waiting on I/O). */
  idle: number;
  byArea: ProfileRow[];
  topFunctions: ProfileRow[];
}

const WRITE_NATIVES = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'writeString', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String']);

/** Which library or part of the runtime a frame belongs to: the unit a fix would target. */
function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8/native (program)';
  // Writes into sockets and files run their system call inside these natives: on loopback that
  // includes the kernel's TCP work for the receiving side.
  if (!url && WRITE_NATIVES.has(fn)) return 'native: socket and file writes';
  if (!url) return fn.startsWith('(') ? fn : 'native builtins';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return `node:${/^node:(?:internal\/)?(\w+)/.exec(url)?.[1] ?? 'internal'}`;
  if (url.includes('/dist/src/')) return `service: ${url.slice(url.indexOf('/dist/src/') + 10).split('/')[0]}`;
  return 'other';
}

/** The newest .cpuprofile in `dir`, as written by `node --cpu-prof --cpu-prof-dir=dir` at exit. */
export function readProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(path.join(dir, files[files.length - 1]), 'utf8')) as CpuProfile;
}

/**
 * Self time by area and by function over [fromMs, toMs) after the profile began (the
 * profile begins as the process starts). Idle samples are counted apart: they are the time
 * the event loop waited, e.g. on Postgres.
 */
export function summariseProfile(profile: CpuProfile, label: string, fromMs: number, toMs: number, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] / 1000;
    if (t < fromMs || t >= toMs) continue;
    const frame = byId.get(profile.samples[i]);
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle++;
      continue;
    }
    busy++;
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + 1);
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where ? ` (${area}, ${where})` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + 1);
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, share: busy ? n / busy : 0 }));
  return { label, samples: idle + busy, idle: idle + busy ? idle / (idle + busy) : 0, byArea: rows(areas), topFunctions: rows(functions) };
}
