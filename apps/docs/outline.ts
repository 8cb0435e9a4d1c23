/**
 * What the docs viewer derives from a rendered document, the same way for the page on screen and for the search
 * index: ids for the headings (their anchors), the table of contents, and the document cut into sections (a heading
 * and the text under it). Plain DOM work, so the index and the page always agree on a section's anchor.
 */

/** "The Z boson: mass & width" → "the-z-boson-mass-width"; accents dropped, unique within `taken`. */
export function slugify(text: string, taken: Set<string>): string {
  const base =
    text
      .normalize('NFD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, '') || 'section';
  let slug = base;
  for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
  taken.add(slug);
  return slug;
}

/**
 * A heading may name its anchor, `## Masse du Z {#the-z-boson}`, so a translated page keeps the English page's
 * anchors (links and bookmarks into it work in every language). Returns the text without it, and the anchor.
 */
export function splitExplicitId(text: string): { text: string; id?: string } {
  const match = /\s*\{#([\p{L}\p{N}_-]+)\}\s*$/u.exec(text);
  return match === null ? { text } : { text: text.slice(0, match.index), id: match[1]! };
}

export interface Heading {
  level: number;
  text: string;
  id: string;
}

/**
 * Gives every h1–h4 under `root` an id (keeping one it has, else the one it names, else its slug), takes a named
 * anchor out of its text, and returns them in order.
 */
export function assignIds(root: ParentNode): Heading[] {
  const taken = new Set<string>();
  const out: Heading[] = [];
  for (const h of root.querySelectorAll<HTMLElement>('h1, h2, h3, h4')) {
    const last = h.lastChild;
    // Markdown leaves `{#id}` as the end of the heading's last text node.
    if (last !== null && last.nodeType === 3) {
      const split = splitExplicitId(last.textContent ?? '');
      if (split.id !== undefined) {
        last.textContent = split.text;
        if (h.id === '') h.id = split.id;
      }
    }
    const text = (h.textContent ?? '').trim();
    const id = h.id !== '' && !taken.has(h.id) ? h.id : slugify(text, taken);
    taken.add(id);
    h.id = id;
    out.push({ level: Number(h.tagName.slice(1)), text, id });
  }
  return out;
}

export interface Section {
  /** The heading's anchor; '' for the text before the first heading. */
  id: string;
  heading: string;
  text: string;
}

/** The document as sections: each heading with the text of what follows it up to the next heading. */
export function sectionsOf(root: Element): Section[] {
  const sections: Section[] = [{ id: '', heading: '', text: '' }];
  const walk = (node: Element) => {
    for (const child of node.children) {
      if (/^H[1-4]$/.test(child.tagName)) {
        sections.push({ id: child.id, heading: (child.textContent ?? '').trim(), text: '' });
      } else if (child.querySelector('h1, h2, h3, h4') !== null) {
        walk(child);
      } else {
        const s = sections[sections.length - 1]!;
        s.text += `${(child.textContent ?? '').replace(/\s+/g, ' ').trim()} `;
      }
    }
  };
  walk(root);
  return sections.filter((s) => s.heading !== '' || s.text.trim() !== '');
}

/** Lower case without accents, so "energia" finds "energía" and "ELECTRON" finds "électron". */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

export interface IndexedDoc {
  /** The path the viewer opens (?path=…), relative to the site root. */
  path: string;
  title: string;
  sections: Section[];
}

export interface Hit {
  doc: IndexedDoc;
  section: Section;
  score: number;
  /** The text around the first match, and where the match is inside it. */
  snippet: { before: string; match: string; after: string };
}

/**
 * Sections holding every word of the query (accents and case ignored), best first: words in the heading count
 * more than words in the text, then how often they occur.
 */
export function search(docs: readonly IndexedDoc[], query: string, limit = 30): Hit[] {
  const terms = fold(query)
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (terms.length === 0) return [];
  const hits: Hit[] = [];
  for (const doc of docs) {
    for (const section of doc.sections) {
      const heading = fold(section.heading);
      const text = fold(section.text);
      const title = fold(doc.title);
      if (!terms.every((w) => heading.includes(w) || text.includes(w) || title.includes(w))) continue;
      let score = 0;
      for (const w of terms) {
        if (heading.includes(w)) score += 10;
        score += Math.min(text.split(w).length - 1, 10);
      }
      // Folding keeps lengths for the scripts the docs use, so positions in `text` are positions in the original.
      const at = text.indexOf(terms[0]!);
      const raw = section.text;
      const snippet =
        at < 0 || text.length !== raw.length
          ? { before: raw.slice(0, 140), match: '', after: '' }
          : {
              before: (at > 60 ? '…' : '') + raw.slice(Math.max(0, at - 60), at),
              match: raw.slice(at, at + terms[0]!.length),
              after: raw.slice(at + terms[0]!.length, at + terms[0]!.length + 80) + (at + 80 < raw.length ? '…' : ''),
            };
      hits.push({ doc, section, score, snippet });
    }
  }
  return hits.sort((a, b) => b.score - a.score).slice(0, limit);
}
