/**
 * Types for the parts of JSROOT 7 the apps use. JSROOT ships no declarations for its subpath modules; importing
 * subpaths (not 'jsroot') keeps three.js and the geometry painters out of the bundles.
 */
declare module 'jsroot/core' {
  export const version: string;
  export const settings: Record<string, unknown>;
  export const gStyle: Record<string, unknown>;
  export const clTList: string;
  export const clTCanvas: string;
  export const clTH1D: string;
  export const clTHStack: string;
  export const clTLegend: string;
  export const clTLegendEntry: string;
  export const clTLine: string;
  export function create(typename: string, target?: object): Record<string, unknown>;
  export function createHistogram(typename: string, nbinsx: number): Record<string, unknown>;
}

declare module 'jsroot/colors' {
  export function getColor(index: number): string | undefined;
}

declare module 'jsroot/draw' {
  export function draw(dom: HTMLElement | string, obj: unknown, opt?: string): Promise<unknown>;
  export function redraw(dom: HTMLElement | string, obj: unknown, opt?: string): Promise<unknown>;
  export function cleanup(dom: HTMLElement | string): void;
  export function makeImage(args: {
    format: 'svg' | 'png' | 'jpeg';
    object: unknown;
    option?: string;
    width?: number;
    height?: number;
  }): Promise<string | ArrayBuffer>;
}

declare module 'jsroot/io' {
  export interface RootFile {
    fFileName: string;
    fKeys: { fName: string; fClassName: string; fCycle: number }[];
    readObject(name: string, cycle?: number): Promise<Record<string, unknown>>;
  }
  export function openFile(arg: string | File | ArrayBuffer): Promise<RootFile>;
}

declare module 'jsroot/tree' {
  export function treeDraw(
    tree: unknown,
    args: string | { expr: string; numentries?: number },
  ): Promise<Record<string, unknown>>;
}

declare module 'jsroot/hierarchy' {
  export class HierarchyPainter {
    constructor(name: string, frameid: string | HTMLElement | null, backgr?: string);
    setDisplay(kind: string, frameid: string | HTMLElement): void;
    openRootFile(filepath: string | File): Promise<unknown>;
    display(itemname: string, drawopt?: string): Promise<unknown>;
    refreshHtml(): Promise<unknown>;
    cleanup(): void;
    [key: string]: unknown;
  }
}
