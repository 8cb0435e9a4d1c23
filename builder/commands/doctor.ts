import { access } from 'node:fs/promises';
import { HOST_TOOLS, type HostTool } from '../doctor/host-tools.ts';
import { loadManifest } from '../manifest/index.ts';
import type { ResolvedManifest } from '../manifest/types.ts';
import { run } from '../tools/exec.ts';
import type { Command } from './types.ts';

export interface ToolStatus {
  tool: HostTool;
  found: boolean;
  version: string;
}

export async function probeTool(tool: HostTool): Promise<ToolStatus> {
  if (tool.program.startsWith('/')) {
    const found = await access(tool.program).then(
      () => true,
      () => false,
    );
    return { tool, found, version: found ? 'present' : '' };
  }
  try {
    const result = await run(tool.program, tool.versionArgs ?? ['--version'], { timeoutMs: 10_000 });
    const line = (result.stdout.trim() || result.stderr.trim()).split('\n')[0] ?? '';
    return { tool, found: true, version: line.trim() };
  } catch (error) {
    // A tool that is installed but exits non-zero on its version flag is still installed.
    const missing = (error as { code?: string }).code === 'E_TOOL_MISSING';
    return { tool, found: !missing, version: missing ? '' : 'installed' };
  }
}

/** Which tool groups a manifest needs; with no manifest, everything including the test tools. */
function neededGroups(manifest: ResolvedManifest | undefined): Set<HostTool['neededFor']> {
  if (manifest === undefined) return new Set(['build', 'usb', 'qcow2', 'ova', 'boot-test', 'browser-test']);
  const groups = new Set<HostTool['neededFor']>(['build']);
  if (manifest.outputs.usb.enabled) groups.add('usb');
  if (manifest.outputs.qcow2.enabled) groups.add('qcow2');
  if (manifest.outputs.ova.enabled) groups.add('ova').add('qcow2');
  return groups;
}

export const command: Command = {
  name: 'doctor',
  help: `Usage: openkey doctor [manifest.yaml]

Checks every host tool a build needs (with a manifest: the tools its outputs need; without: every tool, including
those of the boot and browser tests), prints each one found or missing with its version, and the one apt-get line
that installs what is missing.

Exit codes: 0 everything needed is there, 1 something is missing, 2 bad arguments or manifest.
`,
  options: {},
  async run(args, io) {
    const [file] = args.positionals;
    const manifest = file === undefined ? undefined : (await loadManifest(file, io.cwd)).manifest;
    const groups = neededGroups(manifest);
    const statuses = await Promise.all(HOST_TOOLS.filter((tool) => groups.has(tool.neededFor)).map(probeTool));
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    const width = Math.max(...statuses.map((status) => status.tool.program.length));
    io.out(`  ${'node'.padEnd(width)}  ${nodeMajor >= 20 ? 'ok     ' : 'TOO OLD'}  ${process.version} (needs ≥ 20)\n`);
    for (const status of statuses) {
      const mark = status.found ? 'ok     ' : 'MISSING';
      const detail = status.found
        ? status.version
        : `apt package ${status.tool.aptPackage}, for ${status.tool.purpose}`;
      io.out(`  ${status.tool.program.padEnd(width)}  ${mark}  ${detail}\n`);
    }
    const missingPackages = [
      ...new Set(statuses.filter((status) => !status.found).map((status) => status.tool.aptPackage)),
    ].sort();
    if (missingPackages.length > 0 || nodeMajor < 20) {
      if (missingPackages.length > 0)
        io.err(`\nmissing: install them with\n  apt-get install -y ${missingPackages.join(' ')}\n`);
      if (nodeMajor < 20) io.err('Node.js 20 or newer is needed (Debian trixie ships 20.19)\n');
      return 1;
    }
    io.out('\nall tools found\n');
    return 0;
  },
};
