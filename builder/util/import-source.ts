import { pathToFileURL } from 'node:url';

/**
 * Imports a module whose file is known only at run time (a project file a stage runs, such as the service's
 * bundler). The CLI runs from a bundle (bin/cli-bundle.mjs), where Node cannot load a .ts file by itself: such a
 * file then goes through tsx's scoped tsImport, which registers nothing for the rest of the process. Run from the
 * sources (tsx, vitest), the plain import works.
 */
export async function importSource<T>(file: string): Promise<T> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as T;
  }
}
