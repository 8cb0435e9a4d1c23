import { run } from './exec.ts';

export type GrubFormat = 'i386-pc' | 'i386-pc-eltorito' | 'x86_64-efi';

/** Where Debian's grub-pc-bin and grub-efi-amd64-bin install their module directories. */
export const GRUB_LIB = '/usr/lib/grub';
export const GRUB_APT: Record<GrubFormat, string> = {
  'i386-pc': 'grub-pc-bin',
  'i386-pc-eltorito': 'grub-pc-bin',
  'x86_64-efi': 'grub-efi-amd64-bin',
};

export interface GrubMkimageOptions {
  format: GrubFormat;
  output: string;
  /** Configuration embedded in the image, run before the prefix's grub.cfg. */
  config: string;
  prefix: string;
  modules: string[];
  signal?: AbortSignal;
}

/** Builds a GRUB core image; the output depends only on the inputs (no timestamps). */
export async function grubMkimage(options: GrubMkimageOptions): Promise<void> {
  await run(
    'grub-mkimage',
    [
      '--format',
      options.format,
      '--directory',
      `${GRUB_LIB}/${options.format === 'x86_64-efi' ? 'x86_64-efi' : 'i386-pc'}`,
      '--output',
      options.output,
      '--config',
      options.config,
      '--prefix',
      options.prefix,
      '--compression',
      'auto',
      ...options.modules,
    ],
    { aptPackage: GRUB_APT[options.format], ...(options.signal === undefined ? {} : { signal: options.signal }) },
  );
}

/** Config built into both core images: find this build's medium by a marker file, then read its grub.cfg. */
export function earlyConfig(marker: string): string {
  return [
    `search --no-floppy --set=root --file /.disk/${marker}`,
    'set prefix=($root)/boot/grub',
    'configfile ($root)/boot/grub/grub.cfg',
    '',
  ].join('\n');
}
