import { formatBytes, formatDuration } from '../../common/format.ts';

/** One line of progress for long work: stage, percentage, bytes, rate and time left. */
export interface ProgressSample {
  stage: string;
  done: number;
  total: number;
  startedAt: number;
  now: number;
}

/** One decimal always, so the line keeps its width while it updates. */
const bytes = (value: number) => formatBytes(value, 1);

export function formatProgress(sample: ProgressSample): string {
  const elapsed = Math.max(0.001, (sample.now - sample.startedAt) / 1000);
  const rate = sample.done / elapsed;
  const percent = sample.total > 0 ? Math.floor((100 * sample.done) / sample.total) : 0;
  const left = rate > 0 ? (sample.total - sample.done) / rate : Infinity;
  return `${sample.stage.padEnd(9)} ${String(percent).padStart(3)}%  ${bytes(sample.done)} / ${bytes(sample.total)}  ${bytes(rate)}/s  ETA ${formatDuration(left)}`;
}

export { bytes as formatBytes, formatDuration };
