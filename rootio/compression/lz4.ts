/**
 * LZ4 blocks (no frame). Decoding is ours: 40 lines that write straight into the basket buffer, with bounds checks
 * on every copy, and run in the bundled service (the npm decoders either allocate their own output or are native).
 * Encoding is in encode.ts (the writer's side).
 */
/** Decodes one LZ4 block into output[outStart…]; returns the bytes written. */
export function lz4Block(input: Uint8Array, output: Uint8Array, outStart: number): number {
  let i = 0;
  let j = outStart;
  const n = input.length;
  while (i < n) {
    const token = input[i++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let l = 255;
      while (l === 255 && i < n) {
        l = input[i++]!;
        literals += l;
      }
    }
    if (j + literals > output.length || i + literals > n) throw new Error('LZ4 block overruns its buffer');
    output.set(input.subarray(i, i + literals), j);
    i += literals;
    j += literals;
    if (i >= n) break;
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > j - outStart) throw new Error('LZ4 block has a bad match offset');
    let match = token & 15;
    if (match === 15) {
      let l = 255;
      while (l === 255 && i < n) {
        l = input[i++]!;
        match += l;
      }
    }
    match += 4;
    if (j + match > output.length) throw new Error('LZ4 block overruns its buffer');
    let from = j - offset;
    if (offset >= match) {
      output.copyWithin(j, from, from + match);
      j += match;
    } else {
      for (let k = 0; k < match; k++) output[j++] = output[from++]!;
    }
  }
  return j - outStart;
}
