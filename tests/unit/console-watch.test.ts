import { describe, expect, it } from 'vitest';
import { consoleFailure, failureComplete, failureExcerpt } from '../../builder/tools/console-watch.ts';

// The μ boot that panicked under TCG (issue 13), as the serial console showed it, shortened.
const PANIC = [
  '[    9.812345] systemd[1]: Started systemd-journald.service - Journal Service.',
  '[   10.103344] BUG: unable to handle page fault for address: 000010000002acca',
  '[   10.103901] #PF: supervisor read access in kernel mode',
  '[   10.104512] Oops: 0000 [#1] PREEMPT SMP NOPTI',
  '[   10.105020] RIP: 0010:_get_random_bytes+0xbc/0x2b0',
  '[   10.105871] Call Trace:',
  '[   10.106010]  <IRQ>',
  '[   10.106300]  shuffle_freelist+0x5a/0x1e0',
  '[   10.106800]  allocate_slab+0x2a1/0x410',
  '[   10.107300] Kernel panic - not syncing: Fatal exception in interrupt',
  '[   10.108000] Kernel Offset: 0x1e000000 from 0xffffffff81000000',
  '[   10.108500] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---',
];

describe('console watch', () => {
  it.each([
    ['[   10.107300] Kernel panic - not syncing: Fatal exception in interrupt', 'kernel panic'],
    ['[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'kernel panic'],
    ['OPENKEY-EMERGENCY emergency.service started: failed=[local-fs.target]', 'emergency shell'],
    ['You are in emergency mode. After logging in, type "journalctl -xb" to view', 'emergency shell'],
    ['Cannot open access to console, the root account is locked.', 'emergency shell'],
    ['OPENKEY-INITRAMFS-SHELL Unable to find a medium containing a live file system', 'initramfs shell'],
    ['BusyBox v1.37.0 (Debian 1:1.37.0-6) built-in shell (ash)', 'initramfs shell'],
    ['(initramfs) ', 'initramfs shell'],
  ])('%s → %s', (line, kind) => {
    expect(consoleFailure(line)).toBe(kind);
  });

  it.each([
    '[    0.000000] Linux version 6.12.57+deb13-amd64',
    '[  OK  ] Reached target emergency-net.target',
    'OPENKEY-BOOT state=running failed=[] health=ok uptime=40.1',
    '[   12.0] systemd[1]: Starting panic-notifier.service',
    'Begin: Running /scripts/init-premount ... done.',
  ])('a healthy line is no failure: %s', (line) => {
    expect(consoleFailure(line)).toBeUndefined();
  });

  it('shows the panic from its oops header to the end of the trace', () => {
    const lines = ['noise 1', 'noise 2', ...PANIC];
    const failing = lines.findIndex((line) => consoleFailure(line) !== undefined);
    expect(lines[failing]).toContain('Kernel panic');
    expect(failureComplete(lines.at(-1) ?? '')).toBe(true);
    const excerpt = failureExcerpt(lines, failing);
    expect(excerpt[0]).toContain('BUG: unable to handle page fault');
    expect(excerpt).toContain('[   10.105871] Call Trace:');
    expect(excerpt.at(-1)).toContain('---[ end Kernel panic');
  });

  it('shows a few lines before an emergency shell, which has no trace', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    lines.push('OPENKEY-EMERGENCY emergency.service started: failed=[dev-sr0.device]');
    const excerpt = failureExcerpt(lines, lines.length - 1);
    expect(excerpt).toEqual([...lines.slice(22)]);
  });
});
