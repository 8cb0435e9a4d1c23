import { access } from 'node:fs/promises';
import { run } from '../tools/exec.ts';
import type { HostTool } from './host-tools.ts';

export interface ToolStatus {
  tool: HostTool;
  found: boolean;
  version: string;
}

/** Whether a host program (or file) is there, and its version line; used by `openkey doctor` and the pre-flight. */
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
