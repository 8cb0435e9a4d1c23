/** Levenshtein distance, used for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Up to `max` candidates (compared case-insensitively) close enough to `word` to be a plausible typo, closest first;
 * a candidate differing only in case is the one answer. For "did you mean" in expressions.
 */
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

/**
 * The `max` candidates nearest to `word`, however far (substring matches first, then by edit distance), for 404
 * messages that list what does exist.
 */
export function nearestNames(word: string, candidates: Iterable<string>, max = 3): string[] {
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
