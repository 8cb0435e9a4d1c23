import { editDistance } from '../../builder/util/suggest.ts';

/** The `max` candidates nearest to `word` (substring matches first, then by edit distance), for 404 messages. */
export function closestNames(word: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = word.toLowerCase();
  const scored: { name: string; score: number }[] = [];
  for (const name of candidates) {
    const other = name.toLowerCase();
    const contains = other.includes(lower) || lower.includes(other);
    scored.push({ name, score: editDistance(lower, other) - (contains ? 100 : 0) });
  }
  scored.sort((a, b) => a.score - b.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return scored.slice(0, max).map((s) => s.name);
}
