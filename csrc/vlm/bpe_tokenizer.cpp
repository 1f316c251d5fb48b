#include "vlm/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "vlm/bpe_merges.h"
#include "vlm/bpe_metaspace.h"
#include "vlm/special_tokens.h"

namespace emotune {
namespace {

// GPT-2's pre-tokenisation pattern (a ByteLevel pre-tokenizer with use_regex: true).
const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string utf8_of(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6)), s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12)), s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2's byte → printable character table: printable Latin-1 bytes stand for themselves, the others are
// shifted to U+0100 and up, so every byte string becomes visible text without spaces or control characters.
std::vector<std::string> byte_characters() {
  std::vector<std::string> out(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[b] = utf8_of(printable ? b : next++);
  }
  return out;
}

size_t utf8_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

// Hugging Face's tokenizers runs the Split regex through Oniguruma, whose Unicode \s is tab..CR, U+0085 and
// the Z categories. PCRE2's differs (10.42 also counts U+180E, MONGOLIAN VOWEL SEPARATOR, a format character
// since Unicode 6.3), so \s and \S are spelled out as that set: its members inside a class, [set] and [^set]
// outside. (\S inside a class has no such spelling and is left to PCRE2; no tokenizer.json we know uses it.)
std::string with_oniguruma_spaces(const std::string& pattern) {
  const std::string space = R"(\t-\r\x{85}\p{Z})";
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char next = pattern[++i];
      if (next == 's') out += in_class ? space : "[" + space + "]";
      else if (next == 'S' && !in_class) out += "[^" + space + "]";
      else out += c, out += next;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // a leading ']' is literal
      continue;
    }
    if (c == '[' && in_class && i + 1 < pattern.size() && pattern[i + 1] == ':') {  // [:alpha:] inside a class
      size_t end = pattern.find(":]", i + 2);
      if (end != std::string::npos) {
        out += pattern.substr(i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

class Regex {
 public:
  Regex(const std::string& original, const std::string& where) {
    const std::string pattern = with_oniguruma_spaces(original);
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      raise(where, ": pre-tokenizer regex does not compile at offset ", offset, ": ", reinterpret_cast<char*>(message));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // optional speed-up; matching works without it
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The text cut into matches and the (possibly empty) stretches between them ("Isolated" behaviour).
  std::vector<std::string> split(const std::string& text) const {
    std::vector<std::string> out;
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_, nullptr);
    size_t at = 0, last = 0;
    uint32_t options = 0;  // the text's UTF-8 is checked once, by the first call: re-checking it is quadratic
    while (at <= text.size()) {
      int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, options, data, nullptr);
      options = PCRE2_NO_UTF_CHECK;
      if (rc < 0) break;
      auto* ov = pcre2_get_ovector_pointer(data);
      size_t start = ov[0], end = ov[1];
      if (start > last) out.push_back(text.substr(last, start - last));
      if (end > start) out.push_back(text.substr(start, end - start));
      last = end;
      at = end > start ? end : end + (end < text.size() ? utf8_length(static_cast<unsigned char>(text[end])) : 1);
    }
    if (last < text.size()) out.push_back(text.substr(last));
    pcre2_match_data_free(data);
    return out;
  }

 private:
  pcre2_code* code_ = nullptr;
};

bool mentions(const nlohmann::json& node, const std::string& type) {
  if (node.is_object()) {
    if (node.value("type", "") == type) return true;
    for (const auto& [k, v] : node.items())
      if (mentions(v, type)) return true;
  } else if (node.is_array()) {
    for (const auto& v : node)
      if (mentions(v, type)) return true;
  }
  return false;
}

// A SentencePiece-style file (vlm/bpe_metaspace.h) says so by byte fallback, a Metaspace pre-tokenizer or
// decoder, a Prepend normalizer or a ByteFallback decoder; a ByteLevel step anywhere makes it byte-level (whose
// 256 byte characters leave byte fallback nothing to do), and so does a file that says neither (GPT-2's default).
bool sentencepiece_style(const nlohmann::json& j) {
  const auto part = [&](const char* key) { return j.contains(key) ? j[key] : nlohmann::json(); };
  if (mentions(part("pre_tokenizer"), "ByteLevel") || mentions(part("decoder"), "ByteLevel")) return false;
  const auto& fallback = j["model"].contains("byte_fallback") ? j["model"]["byte_fallback"] : nlohmann::json();
  return (fallback.is_boolean() && fallback.get<bool>()) || mentions(part("pre_tokenizer"), "Metaspace") ||
         mentions(part("normalizer"), "Prepend") || mentions(part("decoder"), "Metaspace") || mentions(part("decoder"), "ByteFallback");
}

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(const nlohmann::json& j, const std::string& path) : bytes_(byte_characters()) {
    auto where = [&](const std::string& key) { return concat(path, ": ", key); };
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) raise(where("model"), " is missing (expected an object)");
    if (j["model"].contains("type") && j["model"]["type"] != "BPE") raise(where("model.type"), " must be BPE");
    const auto& model = j["model"];
    if (!model.contains("vocab") || !model["vocab"].is_object()) raise(where("model.vocab"), " is missing (expected token -> id)");
    const size_t added_count = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
    id_limit_ = 2 * static_cast<int64_t>(model["vocab"].size() + added_count) + 1024;  // real files are dense
    for (const auto& [token, id] : model["vocab"].items()) {
      if (!id.is_number_integer()) raise(where("model.vocab"), "['", token, "']: expected an integer id, got ", id.dump());
      add_piece(token, id.get<int64_t>(), path);
    }
    merges_ = std::make_unique<BpeMerges>(model.contains("merges") ? model["merges"] : nlohmann::json(), vocab_, path);
    if (sentencepiece_style(j)) {
      sentencepiece_ = std::make_unique<SentencePieceBpe>(j, vocab_, path);
    } else {
      nfc_ = mentions(j.value("normalizer", nlohmann::json()), "NFC");
      std::string pattern = find_split_pattern(j.value("pre_tokenizer", nlohmann::json()));
      regex_ = std::make_unique<Regex>(pattern.empty() ? kGpt2Pattern : pattern, where("pre_tokenizer"));
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
      for (const auto& t : j["added_tokens"]) {
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id") ||
            !t["id"].is_number_integer())
          raise(where("added_tokens"), ": expected {\"id\": integer, \"content\": string, ...}, got ", t.dump());
        auto content = t["content"].get<std::string>();
        const auto id = t["id"].get<int64_t>();
        added_.add(content, id, path);
        add_piece(content, id, path);
      }
    for (size_t b = 0; b < 256; ++b) byte_of_char_[bytes_[b]] = static_cast<char>(b);
  }

  std::vector<int64_t> encode(const std::string& text) const override {
    return added_.encode(text, [this](const std::string& plain, std::vector<int64_t>& ids) { encode_plain(plain, ids); });
  }
  std::optional<int64_t> special_token_id(const std::string& text) const override { return added_.id_of(text); }

  std::string decode(const std::vector<int64_t>& ids) const override {
    if (sentencepiece_) {
      std::vector<std::string> tokens;
      for (auto id : ids) tokens.push_back(piece(id));
      return sentencepiece_->decode(std::move(tokens));
    }
    std::string out;
    for (auto id : ids) {
      const auto& p = piece(id);
      if (added_.is_special(id)) {
        out += p;
        continue;
      }
      for (size_t i = 0; i < p.size();) {
        size_t n = utf8_length(static_cast<unsigned char>(p[i]));
        auto it = byte_of_char_.find(p.substr(i, n));
        out += it != byte_of_char_.end() ? std::string(1, it->second) : p.substr(i, n);
        i += n;
      }
    }
    return out;
  }

  std::string piece(int64_t id) const override {
    if (id < 0 || id >= static_cast<int64_t>(pieces_.size())) raise("bpe tokenizer: id ", id, " out of range");
    return pieces_[static_cast<size_t>(id)];
  }
  int64_t size() const override { return static_cast<int64_t>(pieces_.size()); }

 private:
  void add_piece(const std::string& token, int64_t id, const std::string& path) {
    if (id < 0 || id >= id_limit_)
      raise(path, ": id ", id, " of '", token, "' is outside 0..", id_limit_ - 1, " (the file has ", id_limit_ / 2 - 512, " tokens)");
    if (static_cast<size_t>(id) >= pieces_.size()) pieces_.resize(static_cast<size_t>(id) + 1);
    pieces_[static_cast<size_t>(id)] = token;
    vocab_[token] = id;
  }
  static std::string find_split_pattern(const nlohmann::json& node) {
    if (node.is_object()) {
      if (node.value("type", "") == "Split" && node.contains("pattern") && node["pattern"].contains("Regex"))
        return node["pattern"]["Regex"].get<std::string>();
      for (const auto& [k, v] : node.items())
        if (auto p = find_split_pattern(v); !p.empty()) return p;
    } else if (node.is_array()) {
      for (const auto& v : node)
        if (auto p = find_split_pattern(v); !p.empty()) return p;
    }
    return "";
  }
  // SpecialTokens::encode hands each stretch of plain text the ids so far: none yet means it starts the text.
  void encode_plain(const std::string& raw, std::vector<int64_t>& ids) const {
    if (raw.empty()) return;
    if (sentencepiece_) return sentencepiece_->encode(raw, ids.empty(), vocab_, *merges_, ids);
    std::string text = raw;
    if (nfc_) {  // by length, not utf8proc_NFC's NUL-terminated string: a U+0000 must not end the text
      utf8proc_uint8_t* n = nullptr;
      auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(raw.data()), static_cast<utf8proc_ssize_t>(raw.size()),
                                 &n, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
      if (length >= 0) text.assign(reinterpret_cast<char*>(n), static_cast<size_t>(length));  // invalid UTF-8 stays as is
      std::free(n);
    }
    for (const auto& word : regex_->split(text)) bpe(word, ids);
  }
  // Byte-level symbols of `word`, merged by rank.
  void bpe(const std::string& word, std::vector<int64_t>& ids) const {
    std::vector<int64_t> symbols;
    for (unsigned char c : word) {
      auto it = vocab_.find(bytes_[c]);
      if (it == vocab_.end()) raise("bpe tokenizer: symbol '", bytes_[c], "' of '", word, "' is not in the vocabulary");
      symbols.push_back(it->second);
    }
    merges_->apply(symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
  }

  std::vector<std::string> bytes_;
  std::unordered_map<std::string, char> byte_of_char_;
  BpeVocab vocab_;
  std::unique_ptr<BpeMerges> merges_;
  SpecialTokens added_;
  std::vector<std::string> pieces_;
  std::unique_ptr<Regex> regex_;                     // byte-level
  std::unique_ptr<SentencePieceBpe> sentencepiece_;  // or SentencePiece-style
  bool nfc_ = false;
  int64_t id_limit_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_bpe_tokenizer(const std::string& json_text, const std::string& path) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) raise(path, ": not valid JSON (expected a Hugging Face tokenizer.json)");
  try {
    return std::make_unique<BpeTokenizer>(j, path);
  } catch (const nlohmann::json::exception& e) {  // a value of another type than the format has there
    raise(path, ": not a tokenizer.json emotune can read: ", e.what());
  }
}

std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::string& path) { return parse_bpe_tokenizer(read_file(path), path); }

}  // namespace emotune
