import { formatBytes } from '../util/progress.ts';
import { listBlockDevices, type BlockDevice } from '../tools/lsblk.ts';
import type { Command } from './types.ts';

function mounts(device: BlockDevice): string[] {
  return [device, ...(device.children ?? [])].flatMap((node) =>
    node.mountpoints.filter((m): m is string => m !== null).map((m) => `${node.path} on ${m}`),
  );
}

/** Removable and USB disks: the candidates for `openkey write`. */
export function keyCandidates(devices: BlockDevice[]): BlockDevice[] {
  return devices.filter((d) => d.type === 'disk' && (d.rm || d.hotplug || d.tran === 'usb') && d.size > 0);
}

export const command: Command = {
  name: 'devices',
  help: `Usage: openkey devices [--json] [--all]

Lists the removable and USB disks openkey write can write to: path, model, serial, size, transport and what is
mounted from each. --all adds fixed disks and loop devices (not candidates unless --allow-fixed; loops for tests).
`,
  options: { json: { type: 'boolean' }, all: { type: 'boolean' } },
  async run(args, io) {
    const all = await listBlockDevices();
    const shown =
      args.values.all === true ? all.filter((d) => d.type === 'disk' || d.type === 'loop') : keyCandidates(all);
    if (args.values.json === true) {
      io.out(
        JSON.stringify(
          shown.map((d) => ({
            path: d.path,
            model: d.model?.trim() ?? null,
            serial: d.serial?.trim() ?? null,
            size: d.size,
            transport: d.tran,
            removable: d.rm,
            mounted: mounts(d),
          })),
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    if (shown.length === 0) {
      io.out('no removable or USB disk found (plug a key in, or openkey devices --all)\n');
      return 0;
    }
    const rows = shown.map((d) => [
      d.path,
      d.model?.trim() || '-',
      d.serial?.trim() || '-',
      formatBytes(d.size),
      d.tran ?? (d.type === 'loop' ? 'loop' : '-'),
      mounts(d).join(', ') || '-',
    ]);
    const header = ['PATH', 'MODEL', 'SERIAL', 'SIZE', 'TRANSPORT', 'MOUNTED'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const row of [header, ...rows])
      io.out(
        row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd() + '\n',
      );
    return 0;
  },
};
