/** One line of progress for long work: stage, percentage, bytes, rate and time left. */
export interface ProgressSample {
  stage: string;
  done: number;
  total: number;
  startedAt: number;
  now: number;
}

function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}

export function formatProgress(sample: ProgressSample): string {
  const elapsed = Math.max(0.001, (sample.now - sample.startedAt) / 1000);
  const rate = sample.done / elapsed;
  const percent = sample.total > 0 ? Math.floor((100 * sample.done) / sample.total) : 0;
  const left = rate > 0 ? (sample.total - sample.done) / rate : Infinity;
  return `${sample.stage.padEnd(9)} ${String(percent).padStart(3)}%  ${bytes(sample.done)} / ${bytes(sample.total)}  ${bytes(rate)}/s  ETA ${duration(left)}`;
}

export { bytes as formatBytes, duration as formatDuration };
