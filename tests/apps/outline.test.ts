/** The docs viewer's anchors and search, on plain data (the browser tests drive them over the real curriculum). */
import { describe, expect, it } from 'vitest';
import { fold, search, slugify, splitExplicitId, type IndexedDoc } from '../../apps/docs/outline.ts';

describe('anchors', () => {
  it('are lower case, without accents or punctuation, and unique in a page', () => {
    const taken = new Set<string>();
    expect(
      ['The Z boson: mass & width', 'Énergie transverse', 'The Z boson: mass & width', '¿?', 'H→γγ'].map((t) =>
        slugify(t, taken),
      ),
    ).toEqual(['the-z-boson-mass-width', 'energie-transverse', 'the-z-boson-mass-width-2', 'section', 'h-γγ']);
  });
});

describe('named anchors', () => {
  it('are taken from the end of a heading, so a translation keeps the English anchors', () => {
    expect(splitExplicitId('Ce qu’il faut faire {#what-to-do}')).toEqual({
      text: 'Ce qu’il faut faire',
      id: 'what-to-do',
    });
    expect(splitExplicitId('La física {#the-physics}  ')).toEqual({ text: 'La física', id: 'the-physics' });
    // Only at the end, and only letters, digits, - and _: anything else is text.
    expect(splitExplicitId('{#x} first')).toEqual({ text: '{#x} first' });
    expect(splitExplicitId('Sets {#a b}')).toEqual({ text: 'Sets {#a b}' });
    expect(splitExplicitId('Plain')).toEqual({ text: 'Plain' });
  });
});

describe('search', () => {
  const docs: IndexedDoc[] = [
    {
      path: 'docs/a.md',
      title: 'La masa del Z',
      sections: [
        { id: '', heading: '', text: 'Una introducción. ' },
        { id: 'energia', heading: 'Energía', text: 'La energía transversa faltante y la energía de los leptones. ' },
      ],
    },
    {
      path: 'docs/b.md',
      title: 'Teachers',
      sections: [{ id: 'answers', heading: 'Answers', text: 'The fitted energia is close to the truth. ' }],
    },
  ];

  it('ignores case and accents, needs every word, ranks headings first, marks the match', () => {
    expect(fold('ÉNERGÍE')).toBe('energie');
    const hits = search(docs, 'ENERGIA');
    expect(hits.map((h) => [h.doc.path, h.section.id])).toEqual([
      ['docs/a.md', 'energia'],
      ['docs/b.md', 'answers'],
    ]);
    expect(hits[0]!.snippet).toEqual({
      before: 'La ',
      match: 'energía',
      after: ' transversa faltante y la energía de los leptones. ',
    });
    expect(search(docs, 'energia truth').map((h) => h.doc.path)).toEqual(['docs/b.md']);
    expect(search(docs, 'nothing-here')).toEqual([]);
    expect(search(docs, '   ')).toEqual([]);
  });
});
