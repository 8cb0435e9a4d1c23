/**
 * xxhash64 for LZ4 block checksums and zstd frame checksums, through xxhash-wasm: 11 M downloads a month, the
 * WebAssembly inlined in its ES module (so it bundles into the service like plain JS) and about 10× faster than
 * the pure-JS xxhashjs. Loaded once, on first use.
 */
import xxhash from 'xxhash-wasm';

type Hasher = Awaited<ReturnType<typeof xxhash>>;
let loading: Promise<Hasher> | undefined;
let hasher: Hasher | undefined;

export async function loadXxhash(): Promise<Hasher> {
  loading ??= xxhash().then((h) => (hasher = h));
  return loading;
}

/** The loaded hasher; undefined before loadXxhash() has resolved. */
export function xxhashNow(): Hasher | undefined {
  return hasher;
}
