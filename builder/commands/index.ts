import type { Command } from './types.ts';

/**
 * Every CLI command, loaded lazily so `openkey check` does not pay for the build stages or the service.
 * To add a command: create builder/commands/<name>.ts exporting `command`, then add one line here.
 */
export interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

export const commands: Record<string, CommandEntry> = {
  check: { summary: 'validate manifests (schema, inheritance, semantic checks)', load: () => import('./check.ts') },
  explain: {
    summary: 'print the resolved manifest and where each value came from',
    load: () => import('./explain.ts'),
  },
  plan: { summary: 'print the build plan: ordered stages and their input hashes', load: () => import('./plan.ts') },
  doctor: { summary: 'check the host tools a build needs', load: () => import('./doctor.ts') },
  serve: {
    summary: 'run the analysis service (API, ROOT files with Range, web apps)',
    load: () => import('./serve.ts'),
  },
  write: {
    summary: 'write a key image onto USB keys, in parallel, safely, and verify them',
    load: () => import('./write.ts'),
  },
  devices: { summary: 'list the removable and USB disks a key can be written to', load: () => import('./devices.ts') },
  build: { summary: 'build the key image (ISO, USB, VM images) from a manifest', load: () => import('./build.ts') },
  cache: { summary: 'list or prune the build cache', load: () => import('./cache.ts') },
  'verify-repro': {
    summary: 'build twice from scratch and compare every output',
    load: () => import('./verify-repro.ts'),
  },
  fetch: {
    summary: 'download the real data a manifest names, verified and resumable; write its lock file',
    load: () => import('./fetch.ts'),
  },
  sbom: {
    summary: 'regenerate the SPDX 2.3 bill of materials beside a build’s images',
    load: () => import('./sbom.ts'),
  },
  synth: {
    summary: 'generate a synthetic teaching ntuple (ROOT file + dataset.json)',
    load: () => import('./synth.ts'),
  },
};
