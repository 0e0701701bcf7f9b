/**
 * What one OS process of the example costs: CPU seconds, resident memory and
 * descriptors, for the report's per-part figures. The descriptor count is
 * the number of entries of /proc/self/fd, listed off the event loop (libuv's
 * thread pool) once a second: at 19,000 descriptors a listing takes 20 to
 * 30 ms (measured on the 2-core test machine), most of it on a pool thread,
 * so a sample a second costs the loop about 1% at worst; the
 * peak is the highest sample, so a burst shorter than a second may be
 * missed. One sampler per process, however many parts it holds.
 */
import { readdir } from 'node:fs';

/** A process's figures, as the parts report them in their `/stats` and the user processes over IPC. */
export interface ProcessFigures {
  readonly pid: number;
  /** User + system CPU since the process started. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  readonly heapUsedBytes: number;
  /** Descriptors open at the last sample, and the most seen; null where /proc cannot be read. */
  readonly descriptors: number | null;
  readonly peakDescriptors: number | null;
}

const SAMPLE_MS = 1000;

/** Milliseconds since the epoch, with the sub-millisecond part: one clock for every process of the machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

let state: { timer: ReturnType<typeof setInterval>; descriptors: number | null; peak: number | null; peakRss: number; busy: boolean } | undefined;

function sample(): void {
  const s = state!;
  s.peakRss = Math.max(s.peakRss, process.memoryUsage.rss());
  if (s.busy) return;
  s.busy = true;
  readdir('/proc/self/fd', (error, names) => {
    s.busy = false;
    if (error) return;
    const open = names.length - 1; // the directory handle the listing opened
    s.descriptors = open;
    s.peak = Math.max(s.peak ?? 0, open);
  });
}

/** Starts sampling this process (once; later calls do nothing). The timer does not keep the process alive. */
export function startProcessSampler(): void {
  if (state !== undefined) return;
  state = { timer: setInterval(sample, SAMPLE_MS), descriptors: null, peak: null, peakRss: 0, busy: false };
  state.timer.unref();
  sample();
}

/** This process's figures now (starts the sampler if needed). */
export function processFigures(): ProcessFigures {
  startProcessSampler();
  const s = state!;
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  s.peakRss = Math.max(s.peakRss, memory.rss);
  return {
    pid: process.pid,
    cpuSeconds: Math.round((cpu.user + cpu.system) / 1e3) / 1e3,
    rssBytes: memory.rss,
    peakRssBytes: s.peakRss,
    heapUsedBytes: memory.heapUsed,
    descriptors: s.descriptors,
    peakDescriptors: s.peak,
  };
}
