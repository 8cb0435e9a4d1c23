import { closest } from '../../common/suggest.ts';
import { catalogueNames } from './catalogue.ts';

/**
 * The manifest-time check of `opendata:` (no network): a file name the catalogue does not list for a record it knows
 * is a typo until proven otherwise. Records outside the catalogue are checked by `openkey fetch` against the portal.
 */
export function checkOpendataFiles(
  opendata: { record: number; files?: string[] },
  at: (segments: (string | number)[], message: string, hint?: string) => void,
): void {
  const known = catalogueNames(opendata.record);
  if (known.length === 0 || opendata.files === undefined) return;
  opendata.files.forEach((name, index) => {
    if (known.includes(name)) return;
    const guess = closest(name, known);
    at(
      ['files', index],
      `record ${opendata.record} has no file "${name}"`,
      guess ? `did you mean "${guess}"?` : `builder/opendata/catalogue.ts lists the files of record ${opendata.record}`,
    );
  });
}
