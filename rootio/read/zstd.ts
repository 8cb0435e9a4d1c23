/**
 * zstd for ROOT 'ZS' blocks through fzstd (pure JS). jsroot would load @oneidentity/zstd-js, an emscripten build
 * that needs __dirname and so breaks once bundled into an ES module; handing jsroot this decoder instead keeps its
 * metadata reads (TTree objects in zstd files) working in the bundled service too.
 */
import { decompress } from 'fzstd';
import { internals } from 'jsroot/core';

export function zstdInto(src: Uint8Array, out: Uint8Array): number {
  return decompress(src, out).length;
}

const jsroot = internals as { _ZstdStream?: { decompress(data: Uint8Array): Uint8Array } };
jsroot._ZstdStream ??= { decompress: (data: Uint8Array) => decompress(data) };
