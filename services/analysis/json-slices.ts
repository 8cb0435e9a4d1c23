/**
 * JSON text of a result whose histograms hold up to a million numbers, written a slice at a time with a turn of the
 * event loop between slices. One JSON.stringify of such a result holds the main thread for 50 to 100 ms on a busy
 * machine, and every other request (/api/health too) waits behind it; in slices, none waits for more than one.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Numbers written between two turns of the event loop: about a millisecond of work. */
export const SLICE_LENGTH = 16_384;
/**
 * Arrays longer than this are written apart, natively: the replacer that finds them is called for every item of a
 * shorter array, and such a call costs as much as writing the number.
 */
const APART_LENGTH = 64;

/** The same text as JSON.stringify(value), arrays longer than `sliceLength` written in slices. */
export async function stringifyInSlices(value: unknown, sliceLength = SLICE_LENGTH): Promise<string> {
  const big: unknown[][] = [];
  // A long array becomes a placeholder string in the skeleton (its items are not visited), written afterwards. The
  // nonce keeps a string of the value itself from passing for one.
  const nonce = randomBytes(8).toString('hex');
  const skeleton = JSON.stringify(value, (_key, v: unknown) => {
    if (!Array.isArray(v) || v.length <= Math.min(APART_LENGTH, sliceLength)) return v;
    big.push(v);
    return `${nonce}:${big.length - 1}`;
  });
  if (big.length === 0) return skeleton;
  const pieces: string[] = [];
  const placeholder = new RegExp(`"${nonce}:(\\d+)"`, 'g');
  let at = 0;
  // Numbers written since the last turn: a turn comes once a slice's worth was written, so a small result takes none.
  let written = 0;
  for (let match = placeholder.exec(skeleton); match !== null; match = placeholder.exec(skeleton)) {
    pieces.push(skeleton.slice(at, match.index));
    at = match.index + match[0].length;
    const array = big[Number(match[1])]!;
    pieces.push('[');
    for (let from = 0; from < array.length; from += sliceLength) {
      if (written >= sliceLength) {
        await nextTurn();
        written = 0;
      }
      written += Math.min(sliceLength, array.length - from);
      const text = JSON.stringify(array.slice(from, from + sliceLength));
      pieces.push(from === 0 ? '' : ',', text.slice(1, -1));
    }
    pieces.push(']');
  }
  pieces.push(skeleton.slice(at));
  return pieces.join('');
}
