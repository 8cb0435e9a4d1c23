/**
 * The curriculum in every language: each English page of content/docs has a Spanish, French and Portuguese version
 * beside it (common/languages.ts) with the same headings (levels and anchors), the same links (the analyser's
 * presets among them), the same code and formulas, and text in its own language. A missing page, a lost preset
 * link, a changed formula or an English heading renamed without its translations fails here.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { marked, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import { slugify, splitExplicitId } from '../../apps/docs/outline.ts';
import { LANGUAGES, TRANSLATED, translatedPath, translationOf, type Language } from '../../common/languages.ts';
import { PRESETS } from '../../services/analysis/presets.ts';
import { repoRootForUnitTests as repoRoot } from './paths.ts';

const docsRoot = join(repoRoot, 'content', 'docs');

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await markdownFiles(full)));
    else if (entry.name.endsWith('.md')) out.push(full);
  }
  return out.sort();
}

interface Shape {
  /** `h2 #the-physics`: each heading's level and the anchor the viewer gives it. */
  headings: string[];
  links: string[];
  code: string[];
  formulas: string[];
  /** The text without code, formulas and links' targets, for the language check. */
  prose: string;
}

function shapeOf(markdown: string): Shape {
  const shape: Shape = { headings: [], links: [], code: [], formulas: [], prose: '' };
  const taken = new Set<string>();
  const tokens = marked.lexer(markdown, { gfm: true });
  marked.walkTokens(tokens, (token: Token) => {
    if (token.type === 'heading') {
      const { text, id } = splitExplicitId((token as Tokens.Heading).text);
      const anchor = id !== undefined && !taken.has(id) ? id : slugify(text, taken);
      taken.add(anchor);
      shape.headings.push(`h${(token as Tokens.Heading).depth} #${anchor}`);
    } else if (token.type === 'link') shape.links.push((token as Tokens.Link).href);
    else if (token.type === 'codespan' || token.type === 'code') shape.code.push((token as Tokens.Codespan).text);
  });
  const withoutCode = markdown.replace(/```[\s\S]*?```|`[^`\n]*`/g, ' ');
  shape.formulas = [...withoutCode.matchAll(/\$\$[\s\S]+?\$\$|\$[^$\n]+\$/g)].map((m) => m[0]);
  shape.prose = withoutCode
    .replace(/\$\$[\s\S]+?\$\$|\$[^$\n]+\$/g, ' ')
    .replace(/\]\([^)]*\)/g, ']')
    .replace(/\{#[\w-]+\}/g, ' ');
  return shape;
}

/** Small words each language uses all the time and the others do not (a page copied from English fails). */
const MARKERS: Record<Language, string[]> = {
  en: ['the', 'and', 'of', 'is', 'with', 'to'],
  es: ['el', 'los', 'y', 'del', 'con', 'una', 'es'],
  fr: ['le', 'les', 'et', 'des', 'du', 'avec', 'une', 'est'],
  pt: ['os', 'e', 'do', 'da', 'com', 'uma', 'não', 'é', 'ao'],
};

function languageScores(prose: string): Record<Language, number> {
  const words = prose.toLowerCase().match(/\p{L}+/gu) ?? [];
  const scores = { en: 0, es: 0, fr: 0, pt: 0 };
  for (const word of words) for (const lang of LANGUAGES) if (MARKERS[lang].includes(word)) scores[lang] += 1;
  return scores;
}

const sorted = (list: string[]) => [...list].sort();

describe('the curriculum in every language', async () => {
  const files = await markdownFiles(docsRoot);
  const originals = files.filter((file) => translationOf(file) === undefined);

  it('has English pages to translate, and no translation without its English page', () => {
    expect(originals.length).toBeGreaterThanOrEqual(11);
    const orphans = files.filter((file) => {
      const original = translationOf(file)?.original;
      return original !== undefined && !originals.includes(original);
    });
    expect(orphans.map((file) => relative(docsRoot, file))).toEqual([]);
  });

  for (const original of originals) {
    const name = relative(docsRoot, original);
    describe(name, async () => {
      const english = shapeOf(await readFile(original, 'utf8'));

      it('is itself in English, every heading with an anchor', () => {
        const scores = languageScores(english.prose);
        expect(Math.max(...Object.values(scores))).toBe(scores.en);
        expect(english.headings.length).toBeGreaterThanOrEqual(1);
      });

      for (const lang of TRANSLATED) {
        it(`in ${lang}: same headings and anchors, links, presets, code and formulas, in ${lang}`, async () => {
          const path = translatedPath(original, lang);
          const text = await readFile(path, 'utf8').catch(() => undefined);
          expect(text, `${relative(docsRoot, path)} is missing`).toBeDefined();
          const translated = shapeOf(text!);
          expect(translated.headings, 'headings (level and anchor, in order)').toEqual(english.headings);
          expect(sorted(translated.links), 'links (the analyser presets among them)').toEqual(sorted(english.links));
          expect(sorted(translated.code), 'code').toEqual(sorted(english.code));
          expect(sorted(translated.formulas), 'formulas').toEqual(sorted(english.formulas));
          const scores = languageScores(translated.prose);
          expect(Math.max(...Object.values(scores)), JSON.stringify(scores)).toBe(scores[lang]);
          expect(scores[lang]).toBeGreaterThan(2 * scores.en);
        });
      }
    });
  }

  it('links only to pages, apps and presets that exist (as the content stage lays them out on the key)', async () => {
    const presets = new Set(PRESETS.map((preset) => preset.id));
    const missing: string[] = [];
    for (const file of files) {
      // On the key a doc is openkey/docs/<id>/<name>, its folder's files beside it, the apps at openkey/<app>/.
      const onKey = new URL(`docs/doc/${file.split('/').pop()}`, 'http://key/');
      for (const href of shapeOf(await readFile(file, 'utf8')).links) {
        const target = new URL(href, onKey);
        if (target.origin !== onKey.origin) continue;
        const path = target.pathname.slice(1);
        const local = path.startsWith('docs/doc/')
          ? join(file, '..', path.slice('docs/doc/'.length))
          : join(repoRoot, 'apps', path, path.endsWith('/') || path === '' ? 'index.html' : '');
        if (
          !(await readFile(local).then(
            () => true,
            () => false,
          ))
        )
          missing.push(`${relative(docsRoot, file)} → ${href}`);
        const preset = new URLSearchParams(target.hash.slice(1)).get('preset');
        if (preset !== null && !presets.has(preset)) missing.push(`${relative(docsRoot, file)} → preset ${preset}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
