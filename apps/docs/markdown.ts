/**
 * Markdown to HTML for the docs viewer: marked (GFM) with the formulas of the curriculum rendered by KaTeX, offline
 * (its CSS and woff2 fonts are shipped in the apps' assets by apps/build.ts). `$…$` is inline math and `$$…$$` display
 * math, inside a line or as a block of its own.
 *
 * A small extension of our own rather than marked-katex-extension: that one opens an inline formula only after a
 * space, so a formula that starts a wrapped line of a paragraph (after a newline, as in method.md) stayed raw.
 * The rules are the same otherwise: a `$` opens a formula at the start of the text or after white space and closes
 * before white space or punctuation, so "$5 and $10" stays text.
 *
 * KaTeX renders both HTML and MathML, so screen readers read the formula too. A formula KaTeX cannot parse shows
 * its source marked as an error (class katex-error, the reason in its title), never a blank or a broken page.
 */
import katex from 'katex';
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A formula as its source with the error mark, the way KaTeX itself shows a parse error. */
function formulaError(source: string, message: string): string {
  return `<span class="katex-error" title="${escapeHtml(message)}">${escapeHtml(source)}</span>`;
}

function renderFormula(source: string, displayMode: boolean): string {
  try {
    // throwOnError false turns a ParseError into KaTeX's own marked source; anything else still throws.
    return katex.renderToString(source, { displayMode, throwOnError: false, output: 'htmlAndMathml', strict: false });
  } catch (error) {
    return formulaError(source, error instanceof Error ? error.message : String(error));
  }
}

/** `$x$` or `$$x$$` inside a line: no newline inside, no `$` right after the opening, then space, punctuation or end. */
const inlineRule = /^(\${1,2})(?!\$)((?:\\.|[^\\\n])*?(?:\\.|[^\\\n$]))\1(?=[\s?!.,:;)\]？！。，：；]|$)/;
/** `$$` alone on a line, the formula, `$$` alone on a line. */
const blockRule = /^(\${1,2})\n((?:\\[^]|[^\\])+?)\n\1(?:\n|$)/;

interface MathToken extends Tokens.Generic {
  text: string;
  displayMode: boolean;
}

const inlineMath: TokenizerAndRendererExtension = {
  name: 'inlineMath',
  level: 'inline',
  start(src) {
    // The first `$` that can open a formula, so the text before it is cut there.
    for (let index = src.indexOf('$'); index !== -1; index = src.indexOf('$', index + 1)) {
      if ((index === 0 || /\s/.test(src.charAt(index - 1))) && inlineRule.test(src.slice(index))) return index;
      while (src.charAt(index + 1) === '$') index++;
    }
    return undefined;
  },
  tokenizer(src) {
    const match = inlineRule.exec(src);
    if (match === null) return undefined;
    return { type: 'inlineMath', raw: match[0], text: (match[2] ?? '').trim(), displayMode: match[1] === '$$' };
  },
  renderer: (token) => renderFormula((token as MathToken).text, (token as MathToken).displayMode),
};

const blockMath: TokenizerAndRendererExtension = {
  name: 'blockMath',
  level: 'block',
  tokenizer(src) {
    const match = blockRule.exec(src);
    if (match === null) return undefined;
    return { type: 'blockMath', raw: match[0], text: (match[2] ?? '').trim(), displayMode: match[1] === '$$' };
  },
  renderer: (token) => renderFormula((token as MathToken).text, (token as MathToken).displayMode) + '\n',
};

const markdown = new Marked({ gfm: true }, { extensions: [inlineMath, blockMath] });

/** One Markdown document as HTML, formulas included. */
export function renderMarkdown(text: string): string {
  return markdown.parse(text, { async: false });
}
