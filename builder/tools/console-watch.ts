/**
 * What a guest's serial console prints when its boot has failed for good. The boot watch stops at the first such line
 * (plus a moment for the rest of the trace) instead of waiting for its deadline, and reports the lines that show it.
 */
export type ConsoleFailureKind = 'kernel panic' | 'emergency shell' | 'initramfs shell';

const FATAL: readonly [ConsoleFailureKind, RegExp][] = [
  ['kernel panic', /Kernel panic - not syncing/],
  // OPENKEY-EMERGENCY is printed by the key's own emergency.service and rescue.service drop-ins (image/overlay/common),
  // because systemd's own words go to /dev/console, which is the screen, not the serial port.
  [
    'emergency shell',
    /OPENKEY-EMERGENCY|You are in (emergency|rescue) mode|Cannot open access to console, the root account is locked|Give root password for maintenance/,
  ],
  ['initramfs shell', /OPENKEY-INITRAMFS-SHELL|^\(initramfs\) |Dropping to a shell|built-in shell \(ash\)/],
];

/** Where the story of a kernel failure starts: the oops or warning header before the panic line. */
const TRACE_START = /BUG: |Oops: |general protection fault|-{4,}\[ cut here \]-{4,}|Unable to handle|Fatal exception/;

/** The kind of failure a console line announces, if any. */
export function consoleFailure(line: string): ConsoleFailureKind | undefined {
  for (const [kind, pattern] of FATAL) if (pattern.test(line)) return kind;
  return undefined;
}

/** The kernel is done printing once it says so; other failures have nothing more to add after a moment. */
export function failureComplete(line: string): boolean {
  return /---\[ end Kernel panic/.test(line);
}

/**
 * The lines that show a failure: from the start of the oops trace before the failing line (or a few lines of context
 * when there is none) to a few lines after it (the kernel's "end Kernel panic").
 */
export function failureExcerpt(lines: readonly string[], failingIndex: number): string[] {
  let start = Math.max(0, failingIndex - 8);
  for (let i = failingIndex; i >= Math.max(0, failingIndex - 45); i -= 1) {
    if (TRACE_START.test(lines[i] ?? '')) start = Math.min(start, i);
  }
  return lines.slice(start, failingIndex + 15);
}
