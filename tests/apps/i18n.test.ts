/** The apps' four languages: every key translated, every key the pages and the code use defined, the choice order. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LANGUAGES, MESSAGES, languageOf, pickLanguage } from '../../apps/shared/i18n.ts';
import { en } from '../../apps/shared/i18n/en.ts';
import { repoRootForUnitTests as root } from './paths.ts';

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : ext.test(name) ? [path] : [];
  });
}

const keys = Object.keys(en).sort();

describe('translations', () => {
  it.each(LANGUAGES.filter((l) => l !== 'en'))('%s has every English key and no other', (lang) => {
    expect(Object.keys(MESSAGES[lang]).sort()).toEqual(keys);
    for (const key of keys) expect(MESSAGES[lang][key as keyof typeof en], `${lang} ${key}`).not.toBe('');
  });

  it.each(LANGUAGES.filter((l) => l !== 'en'))('%s keeps every {placeholder} of the English text', (lang) => {
    const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of keys) {
      const k = key as keyof typeof en;
      expect(names(MESSAGES[lang][k]), `${lang} ${key}`).toEqual(names(en[k]));
    }
  });

  it('defines every key the pages (data-i18n) and the code (t(…)) use', () => {
    const apps = join(root, 'apps');
    const used = new Set<string>();
    for (const html of files(apps, /\.html$/)) {
      const text = readFileSync(html, 'utf8');
      for (const m of text.matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]!);
      for (const m of text.matchAll(/data-i18n-attr="([^"]+)"/g))
        for (const pair of m[1]!.split(';')) used.add(pair.split(':')[1]!.trim());
    }
    for (const ts of files(apps, /\.ts$/)) {
      const text = readFileSync(ts, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]!);
      for (const m of text.matchAll(/label: '(var\.\w+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(150);
    expect([...used].filter((k) => !(k in en))).toEqual([]);
  });
});

describe('choosing the language', () => {
  it('reads locales and language tags', () => {
    expect(['es_ES.UTF-8', 'pt-BR', 'fr', 'EN_gb', 'de_DE.UTF-8', '', undefined].map(languageOf)).toEqual([
      'es',
      'pt',
      'fr',
      'en',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('takes ?lang=, then the saved choice, then the key, then the browser, then English', () => {
    const all = { query: 'fr', stored: 'pt', keyLocale: 'es_ES.UTF-8', browser: ['en-US'] };
    expect(pickLanguage(all)).toBe('fr');
    expect(pickLanguage({ ...all, query: null })).toBe('pt');
    expect(pickLanguage({ ...all, query: 'xx', stored: null })).toBe('es');
    expect(pickLanguage({ browser: ['de-DE', 'pt-PT'] })).toBe('pt');
    expect(pickLanguage({ browser: ['de-DE'] })).toBe('en');
  });
});
