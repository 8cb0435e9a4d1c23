/**
 * Boots a built image under QEMU in every firmware × media combination and prints seconds to a healthy service.
 * Usage: scripts/boot-test IMAGE.iso [--only bios-cd,uefi-usb] [--json] [--verbose] [--screendump FILE.png]
 *        scripts/boot-test IMAGE.img|.qcow2|.ova --persistence [--only bios,uefi] [--user student] [--guest-health]
 *
 * --persistence boots a disk image twice on a qcow2 overlay (the image stays as built): the first boot writes a
 * file in the user's home through the image's boot-test probe (a unit that acts only on QEMU's fw_cfg entry
 * opt/openkey/test), the second reads it back; both must end healthy. A raw key image is booted as a 2 GiB USB
 * stick, as after dd onto a larger key, so its persistence partition must also have grown; a qcow2 or the OVA's VMDK
 * is booted as a SATA disk, as VirtualBox attaches it.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import tar from 'tar-stream';
import { qemuImgOverlay } from '../builder/tools/qemu-img.ts';
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
    persistence: { type: 'boolean' },
    user: { type: 'string' },
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
/** The VMDK inside an OVA, extracted next to the overlay. */
async function vmdkFromOva(ova: string, dir: string): Promise<string> {
  const extract = tar.extract();
  let found = '';
  extract.on('entry', (header, stream, next) => {
    if (header.name.endsWith('.vmdk') && found === '') {
      found = path.join(dir, path.basename(header.name));
      stream.pipe(createWriteStream(found)).on('finish', next).on('error', next);
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  await pipeline(createReadStream(ova), extract);
  if (found === '') throw new Error(`${ova} holds no .vmdk`);
  return found;
}

async function persistenceTest(disk: string): Promise<never> {
  const user = values.user ?? 'student';
  const firmwares = (values.only ?? 'bios,uefi').split(',') as Firmware[];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'openkey-persist-'));
  let ok = true;
  try {
    let backing = path.resolve(disk);
    let format: 'raw' | 'qcow2' | 'vmdk' = 'raw';
    if (disk.endsWith('.ova')) {
      backing = await vmdkFromOva(backing, scratch);
      format = 'vmdk';
    } else if (disk.endsWith('.qcow2')) format = 'qcow2';
    else if (disk.endsWith('.vmdk')) format = 'vmdk';
    const media: BootMedia = format === 'raw' ? 'usb' : 'sata';
    for (const firmware of firmwares) {
      await requireFirmware(firmware);
      const overlay = path.join(scratch, `${firmware}.qcow2`);
      await qemuImgOverlay(backing, format, overlay, format === 'raw' ? 2 * 1024 ** 3 : undefined);
      const nonce = `n${Date.now().toString(36)}${firmware}`;
      const boot = async (probe: string) =>
        bootTest({
          image: overlay,
          firmware,
          media,
          format: 'qcow2',
          snapshot: false,
          probe,
          deadlineMs: Number(values.deadline ?? 400) * 1000,
          ...(values['guest-health'] ? { hostHealth: false } : {}),
          ...(values.verbose ? { onSerial: (line: string) => process.stderr.write(`  | ${line}\n`) } : {}),
        });
      const report = (what: string, result: Awaited<ReturnType<typeof bootTest>>) => {
        process.stderr.write(
          `${result.passed ? 'PASS' : 'FAIL'} ${firmware}-${media} ${what}: healthy after ${result.secondsToHealthy ?? '-'} s, probe: ${result.probe ?? '-'}${result.reason ? `: ${result.reason}` : ''}\n`,
        );
        if (!result.passed)
          process.stderr.write(
            result.serialTail
              .slice(-25)
              .map((l) => `  | ${l}\n`)
              .join(''),
          );
      };
      process.stderr.write(`booting ${disk} (${firmware}, ${media}, ${format}): writing ${nonce} in ~${user}…\n`);
      const first = await boot(`write ${user} ${nonce}`);
      const wrote = first.passed && first.probe?.startsWith(`wrote ${nonce} persistence=/dev/`) === true;
      report('write', {
        ...first,
        passed: wrote,
        ...(wrote || first.reason ? {} : { reason: 'the probe did not write on a persistence partition' }),
      });
      if (!wrote) {
        ok = false;
        continue;
      }
      process.stderr.write(`rebooting (${firmware}, ${media}): reading it back…\n`);
      const second = await boot(`read ${user}`);
      const bytes = Number(/bytes=(\d+)/.exec(second.probe ?? '')?.[1] ?? 0);
      // A raw key booted as a 2 GiB stick: the persistence partition must have grown well past the image's 64 MiB.
      const grown = format !== 'raw' || bytes > 1024 ** 3;
      const readBack = second.passed && second.probe?.startsWith(`read ${nonce} `) === true && grown;
      report('read back', {
        ...second,
        passed: readBack,
        ...(readBack || second.reason
          ? {}
          : { reason: grown ? 'the file did not survive the reboot' : `persistence did not grow (${bytes} bytes)` }),
      });
      ok &&= readBack;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
}

if (values.persistence) await persistenceTest(image);

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
