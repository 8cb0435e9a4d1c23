import { createRequire } from 'node:module';

/*
 * Debian's machine-readable copyright files (copyright-format 1.0, "DEP-5") name licences by short names: many are
 * SPDX identifiers in another case (BSD-3-clause, Zlib), the GNU ones differ in form (GPL-2+ is GPL-2.0-or-later),
 * and some are Debian's own (public-domain, Expat). The SPDX lists come from spdx-license-ids and spdx-exceptions
 * (the SPDX project's data); only the conversion of Debian's forms is written here, since no library does it.
 */
const require = createRequire(import.meta.url);
const LICENCE_IDS = new Map((require('spdx-license-ids') as string[]).map((id) => [id.toLowerCase(), id] as const));
const parseSpdx = require('spdx-expression-parse') as (expression: string) => unknown;

/** Whether `expression` is an SPDX licence expression (spdx-expression-parse, the SPDX grammar). */
export function isSpdxExpression(expression: string): boolean {
  try {
    parseSpdx(expression);
    return true;
  } catch {
    return false;
  }
}

const EXCEPTION_IDS = new Map((require('spdx-exceptions') as string[]).map((id) => [id.toLowerCase(), id] as const));

/** Debian names that are not an SPDX identifier in another case, with the identifier they stand for. */
const DEBIAN_ALIASES: Record<string, string> = {
  expat: 'MIT',
  // /usr/share/common-licenses/Artistic is Perl's Artistic License 1.0
  artistic: 'Artistic-1.0-Perl',
  'artistic-1': 'Artistic-1.0-Perl',
  'gpl-any': 'GPL-1.0-or-later',
  cc0: 'CC0-1.0',
  'apache-2': 'Apache-2.0',
  'bsd-2': 'BSD-2-Clause',
  'bsd-3': 'BSD-3-Clause',
  'bsd-4': 'BSD-4-Clause',
  'mpl-2': 'MPL-2.0',
  'psf-2': 'PSF-2.0',
  'zope-2.1': 'ZPL-2.1',
  'boost-1.0': 'BSL-1.0',
  'sil-ofl-1.1': 'OFL-1.1',
};

/** Debian's exception names ("GPL-3+ with Autoconf exception") → SPDX exception ids, by licence family. */
function exceptionId(name: string, licence: string): string | undefined {
  const key = name.toLowerCase().replace(/\s+/g, '-');
  if (key === 'autoconf') return licence.startsWith('GPL-3') ? 'Autoconf-exception-3.0' : 'Autoconf-exception-2.0';
  if (key === 'bison') return 'Bison-exception-2.2';
  if (key === 'font') return 'Font-exception-2.0';
  if (key === 'classpath') return 'Classpath-exception-2.0';
  if (key === 'gcc-3.1' || key === 'gcc-runtime-library') return 'GCC-exception-3.1';
  return EXCEPTION_IDS.get(key) ?? EXCEPTION_IDS.get(`${key}-exception`);
}

/** GPL-2, GPL-2+, LGPL-2.1+, GPL-2.0+, GFDL-NIV-1.3 … → the SPDX form; undefined when it is not one of them. */
function gnuId(term: string): string | undefined {
  const match = /^(a?gpl|lgpl|gfdl-niv|gfdl)-?v?(\d)(?:\.(\d))?(\+|-or-later|-only)?$/i.exec(term);
  if (match === null) return undefined;
  const [, family = '', major = '', minor = '0', suffix] = match;
  const later = suffix === '+' || suffix?.toLowerCase() === '-or-later';
  const version = `${major}.${minor}`;
  const id =
    family.toLowerCase() === 'gfdl-niv'
      ? `GFDL-${version}-no-invariants-${later ? 'or-later' : 'only'}`
      : `${family.toUpperCase()}-${version}-${later ? 'or-later' : 'only'}`;
  return LICENCE_IDS.get(id.toLowerCase());
}

/** A licence name SPDX does not list, as a document-local LicenseRef (defined in hasExtractedLicensingInfos). */
export function licenceRefId(name: string): string {
  return `LicenseRef-${name
    .replace(/\+/g, '-plus')
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '')}`;
}

/** One Debian licence name (maybe "X with Y exception") → an SPDX term; refs collects the names SPDX lacks. */
function spdxTerm(raw: string, refs: Map<string, string>): string {
  const term = raw.trim();
  const exception = /^(.+?)\s+with\s+(.+?)\s+exception$/i.exec(term);
  if (exception !== null) {
    const licence = knownId(exception[1]!);
    const id = licence === undefined ? undefined : exceptionId(exception[2]!, licence);
    if (licence !== undefined && id !== undefined) return `${licence} WITH ${id}`;
  }
  const known = exception === null ? knownId(term) : undefined;
  if (known !== undefined) return known;
  const ref = licenceRefId(term);
  refs.set(ref, term);
  return ref;
}

function knownId(term: string): string | undefined {
  const lower = term.toLowerCase();
  const plus = lower.endsWith('+') ? lower.slice(0, -1) : undefined;
  const direct = gnuId(term) ?? DEBIAN_ALIASES[lower] ?? LICENCE_IDS.get(lower);
  if (direct !== undefined) return direct;
  // "Apache-2.0+": SPDX's own "or any later version" operator
  const base = plus === undefined ? undefined : (DEBIAN_ALIASES[plus] ?? LICENCE_IDS.get(plus));
  return base === undefined ? undefined : `${base}+`;
}

/**
 * A DEP-5 `License:` value → an SPDX expression. "and" binds tighter than "or" in both; DEP-5's comma separates
 * groups of lowest precedence ("A or B, and C" is (A or B) and C), so each group is parenthesised.
 */
function spdxExpression(value: string, refs: Map<string, string>): string {
  const groups = value.split(/\s*,\s*(?=(?:and|or)\s)/i);
  const parts: string[] = [];
  groups.forEach((group, index) => {
    let text = group.trim();
    if (index > 0) {
      const op = /^(and|or)\s+/i.exec(text)!;
      parts.push(op[1]!.toUpperCase());
      text = text.slice(op[0].length);
    }
    const tokens = text.replace(/,$/, '').split(/\s+(and|or)\s+/i);
    const mapped = tokens.map((token, i) => (i % 2 === 1 ? token.toUpperCase() : spdxTerm(token, refs)));
    parts.push(mapped.length > 1 && groups.length > 1 ? `(${mapped.join(' ')})` : mapped.join(' '));
  });
  return parts.join(' ');
}

export interface CopyrightLicence {
  /** SPDX expression, or NOASSERTION when the file declares nothing machine-readable. */
  licence: string;
  /** LicenseRef id → the Debian name it stands for (names the SPDX list lacks). */
  refs: Map<string, string>;
  /** Why NOASSERTION, or what a file that is not machine-readable refers to. */
  comment?: string;
}

/**
 * The licence a machine-readable debian/copyright declares: the `License:` short names of its paragraphs, as SPDX
 * terms (LicenseRef-… for names SPDX does not list), joined with AND. A file without the copyright-format header
 * asserts nothing an SBOM may take as a declaration: NOASSERTION, with a comment naming the common-licenses it cites.
 */
export function parseCopyright(text: string): CopyrightLicence {
  const refs = new Map<string, string>();
  if (text === '') return { licence: 'NOASSERTION', refs, comment: 'the package has no copyright file' };
  if (!/^Format:\s*\S*copyright-format/m.test(text)) {
    const cited = [
      ...new Set(
        [...text.matchAll(/\/usr\/share\/common-licenses\/([A-Za-z0-9.+-]+)/g)].map((m) => m[1]!.replace(/\.+$/, '')),
      ),
    ];
    return {
      licence: 'NOASSERTION',
      refs,
      comment: `its copyright file is not machine-readable (copyright-format 1.0)${cited.length > 0 ? `; it refers to ${cited.map((name) => `/usr/share/common-licenses/${name}`).join(', ')}` : ''}`,
    };
  }
  const expressions = new Set<string>();
  for (const match of text.matchAll(/^License:[ \t]*(.+)$/gm)) {
    const value = match[1]!.trim();
    if (value !== '') expressions.add(spdxExpression(value, refs));
  }
  if (expressions.size === 0) return { licence: 'NOASSERTION', refs, comment: 'its copyright file names no licence' };
  if (expressions.size === 1) return { licence: [...expressions][0]!, refs };
  const wrapped = [...expressions].map((e) => (/ (AND|OR) /.test(e) ? `(${e})` : e)).sort();
  return { licence: wrapped.join(' AND '), refs };
}

/** The SPDX expression alone (see parseCopyright). */
export function licenceFromCopyright(text: string): string {
  return parseCopyright(text).licence;
}
