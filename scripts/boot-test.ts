/**
 * Boots a built image under QEMU in every firmware × media combination and prints seconds to a healthy service.
 * Usage: scripts/boot-test IMAGE.iso [--only bios-cd,uefi-usb] [--json] [--verbose] [--screendump FILE.png]
 */
import { parseArgs } from 'node:util';
import {
  bootTest,
  requireFirmware,
  screenshotWhenGraphical,
  type BootMedia,
  type Firmware,
} from '../builder/tools/qemu.ts';

const { values, positionals } = parseArgs({
  options: {
    only: { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    deadline: { type: 'string' },
    screendump: { type: 'string' },
    'guest-health': { type: 'boolean' },
  },
  allowPositionals: true,
});
const [image] = positionals;
if (image === undefined) {
  process.stderr.write(
    'usage: scripts/boot-test IMAGE.iso [--only bios-cd,bios-usb,uefi-cd,uefi-usb] [--json] [--verbose]\n',
  );
  process.exit(2);
}
const all = ['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb'];
const wanted = values.only === undefined ? all : values.only.split(',');
const results = [];
for (const name of wanted) {
  const [firmware, media] = name.split('-') as [Firmware, BootMedia];
  await requireFirmware(firmware);
  process.stderr.write(`booting ${image} (${firmware}, ${media})…\n`);
  const result = await bootTest({
    image,
    firmware,
    media,
    deadlineMs: Number(values.deadline ?? 300) * 1000,
    // Keys whose service listens on 127.0.0.1 only (kiosk): trust the guest's own health check.
    ...(values['guest-health'] ? { hostHealth: false } : {}),
    ...(values.screendump === undefined
      ? {}
      : {
          whileReady: async (vm: Parameters<NonNullable<Parameters<typeof bootTest>[0]['whileReady']>>[0]) => {
            const shot = await screenshotWhenGraphical(vm, values.screendump ?? '', 900_000);
            process.stderr.write(
              `screendump ${values.screendump}${shot.graphical ? '' : ' (the screen never showed a graphical page)'}\n`,
            );
          },
        }),
    ...(values.verbose ? { onSerial: (line: string) => process.stderr.write(`  | ${line}\n`) } : {}),
  });
  results.push(result);
  const status = result.passed ? 'PASS' : 'FAIL';
  process.stderr.write(
    `${status} ${name}: healthy after ${result.secondsToHealthy ?? '-'} s, boot report after ${result.secondsToReport ?? '-'} s (${result.systemState ?? 'no report'})${result.reason ? `: ${result.reason}` : ''}\n`,
  );
  if (!result.passed)
    process.stderr.write(
      result.serialTail
        .slice(-25)
        .map((l) => `  | ${l}\n`)
        .join(''),
    );
}
if (values.json)
  process.stdout.write(
    JSON.stringify(
      results.map(({ serialTail: _tail, ...rest }) => rest),
      null,
      2,
    ) + '\n',
  );
process.exit(results.every((r) => r.passed) ? 0 : 1);
