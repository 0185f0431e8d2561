// Reads a process's memory and CPU use from /proc (Linux only). Every reader
// returns NaN when the figure is unavailable (process gone, not Linux), so a
// benchmark reports "n/a" instead of crashing.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

let clockTicks;

/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
export function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5_000 }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function statusField(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid) {
  return statusField(pid, "VmRSS");
}

/** Peak resident set size in bytes since the process started (VmHWM). */
export function peakRssBytes(pid) {
  return statusField(pid, "VmHWM");
}

/** User + system CPU time the process has used, in milliseconds (10 ms resolution with CLK_TCK=100). */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / clockTicksPerSecond();
  } catch {
    return NaN;
  }
}

/**
 * Samples a process's RSS every `intervalMs` until `stop()` is called, which
 * returns the highest sample seen (bytes). The timer is unref'd.
 */
export function sampleRss(pid, intervalMs = 50) {
  let peak = rssBytes(pid);
  // NaN (the process is gone) never replaces a real sample.
  const higher = (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));
  const timer = setInterval(() => {
    peak = higher(peak, rssBytes(pid));
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return higher(peak, rssBytes(pid));
    },
  };
}

/** One line describing the machine the figures come from. */
export function machineLine() {
  return `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${loadLine()}`;
}

/** "load average 1.00 0.50 0.20" (1, 5 and 15 minutes). */
export function loadLine() {
  return `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")}`;
}

/** The 1-minute load average divided by the number of CPUs. */
export function loadPerCpu() {
  return (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
}
