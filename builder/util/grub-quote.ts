/**
 * Quoting for grub.cfg, shared by every stage that writes one (the ISO's, the disk's). GRUB's script language
 * (GRUB manual, "Shell-like scripting") expands `$name`, splits on spaces and tabs, ends a command at `;`, a newline,
 * `|` or `&`, groups with `{ }`, starts a comment at `#`, and treats `"`, `'` and `\` as quoting. Inside single quotes
 * every character is literal and a single quote cannot appear, so one is written as `'\''` (close, escaped quote,
 * reopen), exactly as in sh. The manifest's schema already keeps kernel arguments to a safe set and refuses control
 * characters in titles; quoting here is the second line of defence, not the only one.
 */

/** Characters GRUB reads literally in an unquoted word (the manifest's kernel-argument pattern is a subset). */
const SAFE_WORD = /^[A-Za-z0-9_.,:=/+@%~^!-]+$/;
/** Characters a GRUB word can never carry, quoted or not: a line break would end the command mid-quote. */
// eslint-disable-next-line no-control-regex
const NEVER = /[\u0000-\u001f\u007f]/;

/** `text` as one single-quoted GRUB word (menu titles, ids). */
export function grubQuote(text: string): string {
  if (NEVER.test(text)) throw new Error(`grub.cfg: a control character in ${JSON.stringify(text)}`);
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A kernel argument on a `linux` line: as is when GRUB reads it literally, single-quoted otherwise. */
export function grubArg(arg: string): string {
  return SAFE_WORD.test(arg) ? arg : grubQuote(arg);
}
