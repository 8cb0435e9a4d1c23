import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../apps/docs/markdown.ts';
import { repoRootForUnitTests } from './paths.ts';

/** The text of rendered HTML outside code and outside KaTeX's own markup, where a leftover `$` means a missed formula. */
function proseOf(html: string): string {
  return html
    .replace(/<span class="katex(?:-display)?">[\s\S]*?<\/annotation>/g, '')
    .replace(/<(code|pre)>[\s\S]*?<\/\1>/g, '')
    .replace(/<[^>]+>/g, '');
}

describe('the docs viewer renders formulas with KaTeX', () => {
  it('renders inline and display math as KaTeX HTML with MathML, leaving no raw dollars', () => {
    const html = renderMarkdown(
      'Typically $p_T > 25$ GeV; the significance is $S/\\sqrt{B}$.\n\n$$m_{\\ell\\ell} = \\sqrt{2\\,p_{T,1}\\,p_{T,2}}.$$\n\n$$\nN = \\sigma \\, L \\, \\epsilon\n$$\n',
    );
    expect(html.match(/<span class="katex">/g)).toHaveLength(4);
    expect(html.match(/<span class="katex-display">/g)).toHaveLength(2);
    expect(html.match(/<math xmlns="http:\/\/www.w3.org\/1998\/Math\/MathML"/g)).toHaveLength(4);
    expect(html).toContain('<annotation encoding="application/x-tex">S/\\sqrt{B}</annotation>');
    expect(proseOf(html)).not.toContain('$');
    expect(proseOf(html)).toContain('Typically');
  });

  it('shows a formula KaTeX cannot parse as its source, marked, with the reason', () => {
    const html = renderMarkdown('before $\\frac{1$ after\n\n$$\n\\sqrt{x\n$$\n');
    const errors = [...html.matchAll(/<span class="katex-error" title="([^"]*)"[^>]*>([^<]*)<\/span>/g)];
    expect(errors.map((m) => m[2])).toEqual(['\\frac{1', '\\sqrt{x']);
    for (const m of errors) expect(m[1]).toMatch(/^ParseError: KaTeX parse error: /);
    expect(html).toContain('before ');
    expect(html).toContain(' after');
  });

  it('leaves prose dollars and code alone', () => {
    const html = renderMarkdown('It costs $5 and $10 at most.\n\n`echo $HOME $PATH`\n');
    expect(html).toBe('<p>It costs $5 and $10 at most.</p>\n<p><code>echo $HOME $PATH</code></p>\n');
  });

  it('renders every formula of the docs on the key, in every language', async () => {
    const dir = join(repoRootForUnitTests, 'content', 'docs');
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.md'));
    let withMath = 0;
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      const html = renderMarkdown(text);
      expect(html, file).not.toContain('katex-error');
      expect(proseOf(html), file).not.toContain('$');
      if (html.includes('class="katex"')) withMath++;
    }
    // z-mass, w-mass and method in en/es/fr/pt (not every one translated yet): at least the English three.
    expect(withMath).toBeGreaterThanOrEqual(3);
  });
});
