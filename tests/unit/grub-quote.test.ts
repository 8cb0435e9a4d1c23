/**
 * grub.cfg quoting: exact words for hostile titles and arguments, and the whole generated grub.cfg, with values the
 * schema would refuse forced in, still parsed by GRUB's own grub-script-check as the same menu.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { grubConfig } from '../../builder/stages/iso.ts';
import { grubArg, grubQuote } from '../../builder/util/grub-quote.ts';
import { manifestOf, withChanges } from '../image/helpers.ts';

describe('grub.cfg quoting', () => {
  it.each([
    ['Start Open Key', "'Start Open Key'"],
    ["it's", "'it'\\''s'"],
    ['a; reboot', "'a; reboot'"],
    ['${root}', "'${root}'"],
    ['} menuentry x {', "'} menuentry x {'"],
    ['# not a comment', "'# not a comment'"],
  ])('quotes the title %j as %s', (text, quoted) => {
    expect(grubQuote(text)).toBe(quoted);
  });

  it.each([
    ['boot=live', 'boot=live'],
    ['console=ttyS0,115200n8', 'console=ttyS0,115200n8'],
    ['init=$x', "'init=$x'"],
    ['a;b', "'a;b'"],
    ["a'b", "'a'\\''b'"],
  ])('writes the kernel argument %j as %s', (arg, word) => {
    expect(grubArg(arg)).toBe(word);
  });

  it('refuses a control character, which no quoting can hold on one line', () => {
    expect(() => grubQuote('a\nb')).toThrow('grub.cfg: a control character in "a\\nb"');
  });

  it('keeps a grub.cfg with hostile values forced past the schema valid for grub-script-check', async () => {
    const mu = withChanges(await manifestOf('manifests/mu.yaml'), (m) => {
      m.boot.menu[0]!.label = "x' ; reboot ; echo '{";
      m.boot.cmdline.push('a;reboot', '$(x)', "q'q");
    });
    const cfg = grubConfig(mu);
    expect(cfg).toContain("menuentry 'x'\\'' ; reboot ; echo '\\''{' --id 'live' {");
    expect(cfg).toContain("linux /live/vmlinuz boot=live components quiet 'a;reboot' '$(x)' 'q'\\''q' ");
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'openkey-grub-')), 'grub.cfg');
    writeFileSync(file, cfg);
    expect(() => execFileSync('grub-script-check', [file], { stdio: 'pipe' })).not.toThrow();
    // Without the quoting, the same values break the file.
    writeFileSync(file, cfg.replace("'x'\\'' ; reboot ; echo '\\''{'", "x' ; reboot ; echo '{"));
    expect(() => execFileSync('grub-script-check', [file], { stdio: 'pipe' })).toThrow();
  });
});
