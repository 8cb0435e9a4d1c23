import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy, sha256File } from '../cache/fsutil.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import type { Plan } from '../plan/index.ts';
import type { StageName } from './registry.ts';
import type { DatasetSummary } from './content.ts';
import { formatBytes } from '../../common/format.ts';

export interface StageReport {
  name: StageName;
  key: string;
  cached: boolean;
  seconds: number;
  outputs: Record<string, number>;
  details?: Record<string, unknown>;
}

export interface BuildReport {
  name: string;
  version: string;
  variant: string;
  sourceDateEpoch: number;
  stages: StageReport[];
  layers: Record<string, number>;
  datasets: DatasetSummary[];
  files: Record<string, { bytes: number; sha256: string }>;
  /** Finalize is a step of the build, not a stage: it is never cached (the report holds this build's timings). */
  finalizeSeconds: number;
  totalSeconds: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

export function reportHtml(report: BuildReport): string {
  const rows = (cells: string[][]) =>
    cells.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.name)} ${escapeHtml(report.version)}: build report</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}td:nth-child(n+2){font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>${escapeHtml(report.name)} ${escapeHtml(report.version)} (${escapeHtml(report.variant)})</h1>
<p>SOURCE_DATE_EPOCH ${report.sourceDateEpoch}; built in ${report.totalSeconds.toFixed(1)} s.</p>
<h2>Stages</h2>
<table><tr><th>stage</th><th>seconds</th><th>cache</th><th>outputs</th></tr>
${rows(
  report.stages.map((s) => [
    s.name,
    s.seconds.toFixed(1),
    s.cached ? 'hit' : 'built',
    Object.entries(s.outputs)
      .map(([k, v]) => `${k} ${formatBytes(v)}`)
      .join(', '),
  ]),
)}
${rows([['finalize', report.finalizeSeconds.toFixed(1), 'always', 'SHA256SUMS, report, manifest, package list']])}
</table>
<h2>Layers</h2>
<table><tr><th>layer</th><th>size</th></tr>
${rows(Object.entries(report.layers).map(([k, v]) => [k, formatBytes(v)]))}
</table>
<h2>Datasets</h2>
<table><tr><th>id</th><th>title</th><th>files</th><th>events</th><th>size</th></tr>
${rows(report.datasets.map((d) => [d.id, d.title, String(d.files), d.events === undefined ? '' : String(d.events), formatBytes(d.size)]))}
</table>
<h2>Files</h2>
<table><tr><th>file</th><th>size</th><th>sha256</th></tr>
${rows(Object.entries(report.files).map(([k, v]) => [k, formatBytes(v.bytes), v.sha256]))}
</table>
</body></html>
`;
}

export interface FinalizeInput {
  manifest: ResolvedManifest;
  plan: Plan;
  /** Final image files: name in the output folder → path in the cache. */
  images: Record<string, string>;
  packagesTsv: string;
  resolvedManifest: unknown;
  report: Omit<BuildReport, 'files' | 'finalizeSeconds' | 'totalSeconds'>;
  /** performance.now() when the build started, for the report's total time. */
  buildStarted: number;
  /** Folder to fill (a temp folder that the build then publishes). */
  dir: string;
}

/**
 * The build's last step, not a stage (it is not in the registry and never cached): beside the images, SHA256SUMS of
 * every output, the build report (JSON and HTML), the resolved manifest and the installed package list. Everything
 * here is a pure function of the stage outputs except the timings in the report.
 */
export async function finalize(input: FinalizeInput): Promise<BuildReport> {
  const started = performance.now();
  await mkdir(input.dir, { recursive: true });
  const base = `${input.manifest.name}-${input.manifest.version}`;
  const files: BuildReport['files'] = {};
  for (const [name, source] of Object.entries(input.images).sort()) {
    await linkOrCopy(source, path.join(input.dir, name));
  }
  await writeFile(
    path.join(input.dir, `${base}.manifest.json`),
    JSON.stringify(input.resolvedManifest, null, 2) + '\n',
  );
  await writeFile(
    path.join(input.dir, `${base}.packages.txt`),
    (await readFile(input.packagesTsv, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').slice(0, 2).join(' '))
      .join('\n') + '\n',
  );
  const named = [...Object.keys(input.images), `${base}.manifest.json`, `${base}.packages.txt`].sort();
  for (const name of named) {
    const full = path.join(input.dir, name);
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(full));
    files[name] = { bytes: size, sha256: await sha256File(full) };
  }
  const now = performance.now();
  const report: BuildReport = {
    ...input.report,
    files,
    finalizeSeconds: (now - started) / 1000,
    totalSeconds: (now - input.buildStarted) / 1000,
  };
  await writeFile(path.join(input.dir, `${base}.report.json`), JSON.stringify(report, null, 2) + '\n');
  await writeFile(path.join(input.dir, `${base}.report.html`), reportHtml(report));
  const sums = named.map((name) => `${files[name]?.sha256 ?? ''}  ${name}\n`).join('');
  await writeFile(path.join(input.dir, 'SHA256SUMS'), sums);
  return report;
}
