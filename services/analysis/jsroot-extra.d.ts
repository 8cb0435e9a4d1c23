/**
 * The parts of jsroot's io and tree modules the service uses beyond apps/shared/jsroot.d.ts (ambient module
 * declarations merge, so this only adds members).
 */
declare module 'jsroot/io' {
  export class FileProxy {
    openFile(): Promise<boolean>;
    getFileName(): string;
    getFileSize(): number;
    readBuffer(pos: number, len: number): Promise<DataView | null>;
    closeFile(): void;
  }
  export function openFile(arg: FileProxy): Promise<RootFile & { delete?(): void }>;
  export function R__unzip(
    arr: DataView,
    tgtsize: number,
    noalert?: boolean,
    srcShift?: number,
  ): Promise<DataView | null>;
}

declare module 'jsroot/tree' {
  export class TSelector {
    tgtobj: Record<string, unknown>;
    addBranch(branch: string | object, name?: string, direct?: boolean): number;
    Begin(tree: unknown): void;
    Process(entry: number): void;
    Terminate(res: boolean): void;
  }
  export function treeProcess(
    tree: unknown,
    selector: TSelector,
    args?: { numentries?: number; firstentry?: number },
  ): Promise<unknown>;
}

declare module 'jsroot/core' {
  export const internals: Record<string, unknown>;
}
