/**
 * Human-readable sizes in binary units, for the CLI, the build report and progress lines.
 * `decimals` fixes the digits after the point (progress lines keep their width); by default a size under 10 units
 * gets one decimal and a larger one none, which reads best in tables.
 */
export function formatBytes(bytes: number, decimals?: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(decimals ?? (value < 10 ? 1 : 0))} ${units[unit]}`;
}

/** Seconds as m:ss; "--:--" when unknown (an ETA before the first sample). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}
