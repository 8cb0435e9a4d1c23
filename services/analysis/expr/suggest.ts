import { editDistance } from '../../../builder/util/suggest.ts';

/** Up to `max` candidates (compared case-insensitively) close enough to `word` to be a plausible typo, closest first. */
export function closestNames(word: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  const scored: { name: string; distance: number }[] = [];
  for (const name of candidates) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= limit) scored.push({ name, distance });
  }
  // a name differing only in case is the answer, not one of several
  const sameLetters = scored.filter((entry) => entry.distance === 0);
  if (sameLetters.length > 0) return sameLetters.slice(0, max).map((entry) => entry.name);
  scored.sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return scored.slice(0, max).map((entry) => entry.name);
}
