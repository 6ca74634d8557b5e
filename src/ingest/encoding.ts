// Text files as people have them: mostly UTF-8, but also UTF-16 (what Windows PowerShell 5 redirects write, and
// Notepad's "Unicode") and legacy Western single-byte text (Latin-1 / Windows-1252 exports from older tools and
// spreadsheets). Each is decoded; what cannot be decoded with confidence is refused, never guessed.

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export type DecodedText = { ok: true; text: string; encoding: TextEncodingName } | { ok: false; reason: 'binary' | 'unknown-encoding' };

/** How far the sniffing looks, like git's binary heuristic. */
const SNIFF_BYTES = 8192;

/**
 * BOM-less UTF-16 of mostly-ASCII text: at least this share of the code units have a zero high byte, and almost
 * none a zero low byte. Binary files have zeros at both.
 */
const UTF16_ZERO_SHARE = 0.3;
const UTF16_OTHER_ZERO_MAX = 0.02;

/**
 * Western single-byte text has its non-ASCII letters one at a time between ASCII ones ("café", "Straße"); double-byte
 * legacy encodings (GBK, Shift_JIS, EUC-KR, Big5) write every character as a run of high bytes. Text whose runs of
 * high bytes are longer than this on average is not decoded as Windows-1252: it would come out as mojibake.
 */
const SINGLE_BYTE_MEAN_RUN_MAX = 1.35;
/** Nor is text in which more than this share of the bytes is non-ASCII (CJK legacy text is mostly high bytes). */
const SINGLE_BYTE_HIGH_SHARE_MAX = 0.3;

const decoders = {
  'utf-8': new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
  'utf-16le': new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }),
  'utf-16be': new TextDecoder('utf-16be', { fatal: true, ignoreBOM: true }),
} as const;

/**
 * Windows-1252's characters for bytes 0x80–0x9F (curly quotes, dashes, euro sign…), where Latin-1 has C1 controls;
 * the five bytes it leaves undefined stay as those controls, as the WHATWG decoder keeps them. Written out because
 * Node's TextDecoder('windows-1252') decodes these bytes as Latin-1 in the versions sieve supports.
 */
const CP1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const codes = Array.from(bytes.subarray(start, start + CHUNK), (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH.charCodeAt(b - 0x80) : b));
    out += String.fromCharCode(...codes);
  }
  return out;
}

/** Decodes a text file's bytes: by byte-order mark, else UTF-8, BOM-less UTF-16, or single-byte Western text. */
export function decodeText(bytes: Uint8Array): DecodedText {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return attempt(bytes.subarray(3), 'utf-8');
  if (startsWith(bytes, [0xff, 0xfe])) return attempt(bytes.subarray(2), 'utf-16le');
  if (startsWith(bytes, [0xfe, 0xff])) return attempt(bytes.subarray(2), 'utf-16be');

  const sniff = bytes.subarray(0, SNIFF_BYTES);
  if (sniff.includes(0)) {
    const utf16 = bomlessUtf16(sniff);
    return utf16 ? attempt(bytes, utf16) : { ok: false, reason: 'binary' };
  }
  const utf8 = attempt(bytes, 'utf-8');
  if (utf8.ok) return utf8;
  return looksSingleByte(bytes) ? attempt(bytes, 'windows-1252') : { ok: false, reason: 'unknown-encoding' };
}

function attempt(bytes: Uint8Array, encoding: TextEncodingName): DecodedText {
  let text: string;
  try {
    text = encoding === 'windows-1252' ? decodeWindows1252(bytes) : decoders[encoding].decode(bytes);
  } catch {
    return { ok: false, reason: 'unknown-encoding' };
  }
  // NUL characters in decoded text mean a binary payload, whatever the wrapper claimed.
  if (text.includes('\u0000')) return { ok: false, reason: 'binary' };
  return { ok: true, text, encoding };
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** 'utf-16le' or 'utf-16be' when the zero bytes fall (almost) only on one side of each code unit. */
function bomlessUtf16(sniff: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const units = Math.floor(sniff.length / 2);
  if (units === 0) return null;
  let zeroLow = 0;
  let zeroHigh = 0;
  for (let i = 0; i + 1 < sniff.length; i += 2) {
    if (sniff[i] === 0) zeroLow++;
    if (sniff[i + 1] === 0) zeroHigh++;
  }
  // Little-endian ASCII: 'a' is 61 00, so the high (second) byte is zero.
  if (zeroHigh >= UTF16_ZERO_SHARE * units && zeroLow <= UTF16_OTHER_ZERO_MAX * units) return 'utf-16le';
  if (zeroLow >= UTF16_ZERO_SHARE * units && zeroHigh <= UTF16_OTHER_ZERO_MAX * units) return 'utf-16be';
  return null;
}

/** Whether the non-ASCII bytes come singly, as in Western single-byte text (see SINGLE_BYTE_MEAN_RUN_MAX). */
function looksSingleByte(bytes: Uint8Array): boolean {
  let runs = 0;
  let high = 0;
  let inRun = false;
  for (const b of bytes) {
    if (b >= 0x80) {
      high++;
      if (!inRun) runs++;
      inRun = true;
    } else {
      // C0 controls other than tab, newlines, form feed and escape are not text.
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) return false;
      inRun = false;
    }
  }
  return runs > 0 && high / runs <= SINGLE_BYTE_MEAN_RUN_MAX && high <= SINGLE_BYTE_HIGH_SHARE_MAX * bytes.length;
}
