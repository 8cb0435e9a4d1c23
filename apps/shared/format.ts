/** Number formatting shared by the apps; plain functions so unit tests can pin them. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Integers with thin-space thousands separators (SI style, language neutral): 1 234 567. */
export function formatCount(n: number): string {
  const [int = '', frac] = String(Math.round(n * 1000) / 1000).split('.');
  const sign = int.startsWith('-') ? '-' : '';
  const digits = sign ? int.slice(1) : int;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
  return sign + grouped + (frac === undefined ? '' : `.${frac}`);
}

/** A value with about `digits` significant figures, for sums of weights and significances. */
export function formatValue(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  if (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}
