/**
 * The apps in English, Spanish, French and Portuguese. The language is, in order: `?lang=xx` in the URL, the one
 * chosen with the top bar's switch (kept in localStorage), the key's `system.locale` (key-index.js), the browser's
 * languages, English. Pages mark translatable text with data-i18n="key" (text) and data-i18n-attr="attr:key;…";
 * code calls t(key, { name: value }). Numbers use the language's format (decimal comma in es, fr, pt).
 */
import { en, type MessageKey } from './i18n/en.ts';
import { es } from './i18n/es.ts';
import { fr } from './i18n/fr.ts';
import { pt } from './i18n/pt.ts';
import { LANGUAGES, LANGUAGE_NAMES, type Language } from '../../common/languages.ts';

// The docs share the list (their translations are named by it), so it lives in common/.
export { LANGUAGES, LANGUAGE_NAMES, type Language };
export type { MessageKey };

export const MESSAGES: Record<Language, Record<MessageKey, string>> = { en, es, fr, pt };

const STORAGE_KEY = 'openkey.lang';

/** "es_ES.UTF-8", "pt-BR", "fr" → the language it names, if it is one of ours. */
export function languageOf(tag: string | undefined | null): Language | undefined {
  const code =
    (tag ?? '')
      .trim()
      .toLowerCase()
      .split(/[-_.@]/)[0] ?? '';
  return (LANGUAGES as readonly string[]).includes(code) ? (code as Language) : undefined;
}

export interface LanguageSources {
  query?: string | null;
  stored?: string | null;
  keyLocale?: string | undefined;
  browser?: readonly string[];
}

export function pickLanguage(sources: LanguageSources): Language {
  for (const tag of [sources.query, sources.stored, sources.keyLocale, ...(sources.browser ?? [])]) {
    const lang = languageOf(tag);
    if (lang !== undefined) return lang;
  }
  return 'en';
}

let current: Language = 'en';

export function language(): Language {
  return current;
}

export function setLanguage(lang: Language): void {
  current = lang;
}

/** The message in the current language with {name} placeholders filled; English when a language lacks it. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = MESSAGES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole: string, name: string) => {
    const v = params[name];
    return v === undefined ? whole : typeof v === 'number' ? formatNumber(v) : v;
  });
}

/** A number in the current language's format (1 234,5 in French); at most `digits` significant figures. */
export function formatNumber(x: number, digits?: number): string {
  if (!Number.isFinite(x)) return String(x);
  const options: Intl.NumberFormatOptions =
    digits === undefined ? { maximumFractionDigits: 3 } : { maximumSignificantDigits: digits };
  if (digits !== undefined && x !== 0 && (Math.abs(x) >= 1e7 || Math.abs(x) < 1e-3))
    return new Intl.NumberFormat(current, { notation: 'scientific', maximumSignificantDigits: digits }).format(x);
  return new Intl.NumberFormat(current, options).format(x);
}

/** The language for this page, from the URL, the saved choice, the key and the browser; sets <html lang>. */
export function initLanguage(keyLocale?: string): Language {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // file:// pages and private windows may refuse storage; the other sources still apply.
  }
  const lang = pickLanguage({
    query: new URLSearchParams(location.search).get('lang'),
    stored,
    keyLocale,
    browser: navigator.languages ?? [navigator.language],
  });
  setLanguage(lang);
  document.documentElement.lang = lang;
  return lang;
}

/** Fills every data-i18n element and attribute under `root` in the current language. */
export function translatePage(root: ParentNode = document): void {
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n]'))
    node.textContent = t(node.dataset.i18n as MessageKey);
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n-attr]')) {
    for (const pair of (node.dataset.i18nAttr ?? '').split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) node.setAttribute(attr.trim(), t(key.trim() as MessageKey));
    }
  }
  const title = document.querySelector<HTMLElement>('title[data-i18n]');
  if (title) document.title = title.textContent ?? document.title;
}

/** The language switch of the top bar: choosing a language saves it and reloads the page in it. */
export function languageSwitch(): HTMLElement {
  const label = document.createElement('label');
  label.className = 'lang';
  const select = document.createElement('select');
  select.id = 'lang';
  select.setAttribute('aria-label', t('common.language'));
  for (const lang of LANGUAGES) {
    const option = document.createElement('option');
    option.value = lang;
    option.lang = lang;
    option.textContent = LANGUAGE_NAMES[lang];
    option.selected = lang === current;
    select.append(option);
  }
  select.addEventListener('change', () => {
    try {
      localStorage.setItem(STORAGE_KEY, select.value);
    } catch {
      // without storage the choice lives in the URL only
    }
    const url = new URL(location.href);
    url.searchParams.set('lang', select.value);
    location.href = url.href;
  });
  label.append(select);
  return label;
}

/** Sets up a page: language, translated markup, the switch in the top bar. */
export function setupPage(keyLocale?: string): Language {
  const lang = initLanguage(keyLocale);
  translatePage();
  const header = document.querySelector('header.top');
  if (header !== null && document.getElementById('lang') === null) header.append(languageSwitch());
  return lang;
}
