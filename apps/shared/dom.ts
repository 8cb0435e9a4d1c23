/** Tiny DOM helpers: build elements without innerHTML, so no dataset or file name is ever parsed as markup. */

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`missing element #${id}`);
  return node as T;
}

/** The site root (where index.html, assets/, api/ and data/ live), found from the shared stylesheet's URL. */
export function siteRoot(): URL {
  const link = document.querySelector<HTMLLinkElement>('link[rel="stylesheet"][href$="assets/openkey.css"]');
  return link === null ? new URL('./', location.href) : new URL('../', link.href);
}

/** Shows a message in the page's status line; role="status" makes screen readers announce it. */
export function setStatus(node: HTMLElement, text: string, kind: 'info' | 'error' = 'info'): void {
  node.textContent = text;
  node.classList.toggle('error', kind === 'error');
}
