import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process CPU time in clock ticks; 100 per second on every common kernel. */
const TICKS_PER_SECOND = 100;

export interface CpuShare {
  /** CPU cores kept busy on average over the window (2.0 = both cores of this machine). */
  bench: number;
  service: number;
  postgres: number;
  /** The whole machine, from /proc/stat: the rest is other people's work on a shared host. */
  machine: number;
}

interface Snapshot {
  at: number;
  machine: number;
  bench: number;
  service: Map<number, number>;
  postgres: Map<number, number>;
}

/** Busy ticks of all CPUs since boot: everything but idle and iowait. */
function machineTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return user + nice + system + irq + softirq + (steal || 0);
}

function stat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12)
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/**
 * Where the CPU went during a measurement: the bench process (load generator), the service
 * process, and every Postgres process (postmasters and their backends). On a 2-core machine
 * this says whether a ratio is limited by the service, by Postgres, or by sharing cores.
 */
export class CpuMeter {
  constructor(
    private readonly servicePid: () => number | undefined,
    private readonly postmasterPids: () => number[],
  ) {}

  snapshot(): Snapshot {
    const service = new Map<number, number>();
    const servicePid = this.servicePid();
    if (servicePid) {
      const s = stat(servicePid);
      if (s) service.set(servicePid, s.ticks);
    }
    const postmasters = new Set(this.postmasterPids());
    const postgres = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const s = postmasters.has(pid) || postmasters.size ? stat(pid) : null;
      if (s && (postmasters.has(pid) || postmasters.has(s.ppid))) postgres.set(pid, s.ticks);
    }
    const usage = process.cpuUsage();
    return { at: Date.now(), machine: machineTicks(), bench: (usage.user + usage.system) / 1e6, service, postgres };
  }

  static between(a: Snapshot, b: Snapshot): CpuShare {
    const seconds = Math.max(0.001, (b.at - a.at) / 1000);
    const delta = (from: Map<number, number>, to: Map<number, number>) => {
      let ticks = 0;
      for (const [pid, t] of to) ticks += t - (from.get(pid) ?? 0);
      return ticks / TICKS_PER_SECOND / seconds;
    };
    return {
      bench: (b.bench - a.bench) / seconds,
      service: delta(a.service, b.service),
      postgres: delta(a.postgres, b.postgres),
      machine: (b.machine - a.machine) / TICKS_PER_SECOND / seconds,
    };
  }
}
