/**
 * The languages of the apps and the docs, and how a translated document is named: `z-mass.md` in French is
 * `z-mass.fr.md` beside it. The builder lists the translations a key carries with this; the docs viewer opens them.
 */
export const LANGUAGES = ['en', 'es', 'fr', 'pt'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language's name in itself, for the apps' switch and the key's START-HERE.html. */
export const LANGUAGE_NAMES: Record<Language, string> = {
  en: 'English',
  es: 'Español',
  fr: 'Français',
  pt: 'Português',
};

/** The languages a document may be translated into (English is the original). */
export const TRANSLATED: readonly Language[] = LANGUAGES.filter((lang) => lang !== 'en');

const TRANSLATION = new RegExp(`^(.*)\\.(${TRANSLATED.join('|')})\\.md$`, 'i');

/** `docs/curriculum/z-mass.md` in `fr` → `docs/curriculum/z-mass.fr.md`; English and non-Markdown paths as they are. */
export function translatedPath(path: string, lang: Language): string {
  if (lang === 'en' || !/\.md$/i.test(path) || TRANSLATION.test(path)) return path;
  return `${path.slice(0, -3)}.${lang}.md`;
}

/** `z-mass.fr.md` → `{ original: 'z-mass.md', lang: 'fr' }`; undefined for a file that is not a translation. */
export function translationOf(path: string): { original: string; lang: Language } | undefined {
  const match = TRANSLATION.exec(path);
  if (match === null) return undefined;
  return { original: `${match[1]}.md`, lang: match[2]!.toLowerCase() as Language };
}

/** Where a Markdown file's translations would be (they may not exist); none for a folder or another file. */
export function translationPaths(path: string): string[] {
  if (!/\.md$/i.test(path) || TRANSLATION.test(path)) return [];
  return TRANSLATED.map((lang) => translatedPath(path, lang));
}
