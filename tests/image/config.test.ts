import { describe, expect, it } from 'vitest';
import { grubConfig } from '../../builder/stages/iso.ts';
import { generatedFiles } from '../../builder/stages/overlay.ts';
import { aptSources, releaseUrls, rootfsPackages, shellQuote } from '../../builder/stages/rootfs.ts';
import { manifestOf, withChanges } from './helpers.ts';

describe('rootfs inputs', () => {
  it('uses the mirror, -updates and the security archive', async () => {
    const mu = await manifestOf('manifests/mu.yaml');
    expect(aptSources(mu)).toEqual([
      'deb http://deb.debian.org/debian trixie main',
      'deb http://deb.debian.org/debian trixie-updates main',
      'deb http://deb.debian.org/debian-security trixie-security main',
    ]);
    expect(releaseUrls(mu)).toEqual([
      'http://deb.debian.org/debian/dists/trixie/InRelease',
      'http://deb.debian.org/debian/dists/trixie-updates/InRelease',
      'http://deb.debian.org/debian-security/dists/trixie-security/InRelease',
    ]);
  });

  it('takes every archive from snapshot.debian.org when the manifest pins a snapshot', async () => {
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.base.snapshot = '20251101T000000Z';
    });
    expect(aptSources(mu)).toEqual([
      'deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/20251101T000000Z/ trixie main',
      'deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/20251101T000000Z/ trixie-updates main',
      'deb [check-valid-until=no] http://snapshot.debian.org/archive/debian-security/20251101T000000Z/ trixie-security main',
    ]);
    expect(releaseUrls(mu)[0]).toBe(
      'http://snapshot.debian.org/archive/debian/20251101T000000Z/dists/trixie/InRelease',
    );
  });

  it('installs the sorted union of the package groups plus what a live key needs', async () => {
    const s = await manifestOf('manifests/s.yaml');
    const packages = rootfsPackages(s);
    expect(packages).toEqual([...packages].sort());
    expect(packages).toEqual(
      expect.arrayContaining([
        'linux-image-amd64',
        'live-boot',
        'systemd-sysv',
        'cage',
        'chromium',
        'nodejs',
        'libpam-systemd',
      ]),
    );
    expect(new Set(packages).size).toBe(packages.length);
  });

  it.each([
    ['plain', "'plain'"],
    ["it's", `'it'\\''s'`],
    ['$(rm -rf /)', "'$(rm -rf /)'"],
  ])('quotes %s for the mmdebstrap hooks', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });
});

describe('overlay files', () => {
  it('makes the classroom server listen on the LAN and print its URL on the console', async () => {
    const files = generatedFiles(await manifestOf('manifests/mu.yaml'));
    expect(files['etc/hostname']).toBe('openkey-mu\n');
    expect(files['etc/openkey/analysis.env']).toBe(
      'OPENKEY_HOST=0.0.0.0\nOPENKEY_PORT=8080\nOPENKEY_WORKERS=0\nOPENKEY_ARGS=\n',
    );
    expect(files['etc/issue']).toContain('Open Key portal: http://\\4:8080/');
    expect(files['etc/lightdm/lightdm.conf.d/50-openkey-autologin.conf']).toBeUndefined();
  });

  it('keeps the kiosk service on 127.0.0.1 and points the browser at it', async () => {
    const files = generatedFiles(await manifestOf('manifests/s.yaml'));
    expect(files['etc/openkey/analysis.env']).toContain('OPENKEY_HOST=127.0.0.1\n');
    expect(files['etc/openkey/kiosk.env']).toBe('OPENKEY_URL=http://127.0.0.1:8080/\n');
    expect(files['etc/openkey/session-user']).toBe('student\n');
    expect(files['etc/systemd/system/openkey-kiosk.service.d/user.conf']).toBe('[Service]\nUser=student\n');
  });

  it("runs the kiosk as the manifest's own user", async () => {
    const s = await manifestOf('manifests/s.yaml');
    const files = generatedFiles({
      ...s,
      system: { ...s.system, users: [{ ...s.system.users[0]!, name: 'eleve', autologin: true }] },
    });
    expect(files['etc/systemd/system/openkey-kiosk.service.d/user.conf']).toBe('[Service]\nUser=eleve\n');
    expect(
      generatedFiles(await manifestOf('manifests/mu.yaml'))['etc/systemd/system/openkey-kiosk.service.d/user.conf'],
    ).toBeUndefined();
  });

  it('logs the student in through LightDM on desktop variants', async () => {
    const m = await manifestOf('manifests/m.yaml');
    const files = generatedFiles(m);
    expect(files['etc/lightdm/lightdm.conf.d/50-openkey-autologin.conf']).toBe(
      '[Seat:*]\nautologin-user=student\nautologin-user-timeout=0\n',
    );
  });
});

describe('GRUB menu', () => {
  it('has start, to-RAM and safe-graphics entries with the serial console', async () => {
    const cfg = grubConfig(await manifestOf('manifests/mu.yaml'));
    expect(cfg).toContain("set default='live'");
    expect(cfg).toContain('set timeout=5');
    expect(cfg).toContain(
      "menuentry 'Start Open Key' --id 'live' {\n  linux /live/vmlinuz boot=live components quiet console=ttyS0,115200n8 console=tty0\n  initrd /live/initrd.img\n}",
    );
    expect(cfg).toMatch(/--id 'toram' \{\n {2}linux \/live\/vmlinuz boot=live components quiet toram console=ttyS0/);
    expect(cfg).toMatch(/--id 'safe' \{\n {2}linux \/live\/vmlinuz boot=live components quiet nomodeset console=ttyS0/);
  });
});
