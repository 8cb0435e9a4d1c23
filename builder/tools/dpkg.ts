import { run } from './exec.ts';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  installedSize: number;
}

/** The packages installed in a Debian tree, read from its dpkg database with the host's dpkg-query. */
export async function dpkgQueryList(rootfs: string, signal?: AbortSignal): Promise<InstalledPackage[]> {
  const result = await run(
    'dpkg-query',
    [
      `--admindir=${rootfs}/var/lib/dpkg`,
      '--show',
      '--showformat=${Package}\t${Version}\t${Architecture}\t${Installed-Size}\n',
    ],
    { aptPackage: 'dpkg', ...(signal === undefined ? {} : { signal }) },
  );
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', version = '', architecture = '', size = '0'] = line.split('\t');
      return { name, version, architecture, installedSize: Number(size) || 0 };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
