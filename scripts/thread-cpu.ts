// CPU time of this process, and of its main thread alone (Linux: /proc/self/task/<pid>/stat). The rest of
// a Node process's CPU time is spent by its helper threads: V8 compiling hot functions and
// marking and sweeping concurrently, libuv's pool. Splitting the two shows how much of an
// operation's cost is the code itself and how much is the engine warming up to it.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ: what /proc reports on every Linux architecture Node runs on

/** Seconds of CPU (user + system) this process's main thread has used, or undefined where /proc cannot tell. */
export function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "latin1");
    // Fields after the command name (which may hold spaces and parentheses): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds of CPU this process has used, all threads (GC and JIT included). */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A process's CPU seconds so far, and its main thread's where known. */
export interface CpuReading {
  total: number;
  main?: number;
}

/** This process's CpuReading now. */
export function cpuNow(): CpuReading {
  return { total: cpuSeconds(), main: mainThreadCpuSeconds() };
}
