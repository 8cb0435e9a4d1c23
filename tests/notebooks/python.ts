/** Debian's Python (with Debian's numpy, iminuit and Jupyter), not whatever python3 comes first on PATH. */
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const JUPYTER = '/usr/bin/jupyter';
/** openkey.py lives where the image installs it: the Jupyter overlay's dist-packages. */
export const PYTHON_PATH = fileURLToPath(
  new URL('../../image/overlay/jupyter/usr/lib/python3/dist-packages/', import.meta.url),
);
export const NOTEBOOKS = fileURLToPath(new URL('../../content/notebooks/', import.meta.url));
/** PATH for Jupyter's kernel: /usr/bin first, so `python3` is Debian's. */
export const DEBIAN_PATH = `/usr/bin:/bin:/usr/sbin:/sbin:${process.env.PATH ?? ''}`;
