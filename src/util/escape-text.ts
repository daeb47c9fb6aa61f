// Untrusted text (paths, names, principals, messages built from them) shown to a person: every control
// character is made visible, so a line stays one line and cannot move the cursor, repaint the terminal, set its
// title or reorder what follows (issue 11 §7). C0, DEL and C1 become \xNN; the Unicode bidi controls and the
// line and paragraph separators become \u{NNNN}. Everything else (accents, CJK, emoji, backslashes) is kept.
// JSON output needs none of this: JSON.stringify escapes C0, and the rest cannot end a JSON string.

// \p{Cc}: C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F). \p{Bidi_Control}: U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069. U+2028 and U+2029 end a line in some viewers.
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;

export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.codePointAt(0) ?? 0;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16).toUpperCase()}}`;
  });
}

const UNSAFE_ANY = new RegExp(UNSAFE.source, 'u');

/** True when `text` holds nothing escapeText would change. */
export function isPlainText(text: string): boolean {
  return !UNSAFE_ANY.test(text);
}
