import { fileURLToPath } from 'node:url';

/** The repository root, for unit tests that read the apps' sources (harness.ts starts browsers; this does not). */
export const repoRootForUnitTests = fileURLToPath(new URL('../../', import.meta.url));
