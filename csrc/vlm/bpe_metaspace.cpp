#include "vlm/bpe_metaspace.h"

#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace emotune {
namespace {

const nlohmann::json kNull;

const nlohmann::json& member(const nlohmann::json& node, const char* name) {
  return node.is_object() && node.contains(name) ? node[name] : kNull;
}

std::string text_at(const nlohmann::json& node, const char* name, const std::string& where) {
  const auto& value = member(node, name);
  if (!value.is_string()) raise(where, ".", name, ": expected a string, got ", value.dump());
  return value.get<std::string>();
}

bool flag_at(const nlohmann::json& node, const char* name, bool fallback, const std::string& where) {
  const auto& value = member(node, name);
  if (value.is_null()) return fallback;
  if (!value.is_boolean()) raise(where, ".", name, ": expected true or false, got ", value.dump());
  return value.get<bool>();
}

// A Replace step's pattern: {"String": ...}; a Regex pattern is not supported here.
std::string string_pattern(const nlohmann::json& node, const std::string& where) {
  const auto& pattern = member(node, "pattern");
  if (!member(pattern, "String").is_string())
    raise(where, ".pattern: only a {\"String\": ...} pattern is supported for a SentencePiece-style BPE, got ", pattern.dump());
  return pattern["String"].get<std::string>();
}

// The length of the valid UTF-8 character at `at`, or 0 for a byte that does not start one.
size_t character_length(const std::string& s, size_t at) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()) + at, static_cast<utf8proc_ssize_t>(s.size() - at), &cp);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void replace_all(std::string& text, const std::string& pattern, const std::string& content) {
  if (pattern.empty()) return;  // an empty pattern matches nothing in the library
  std::string out;
  size_t from = 0;
  for (size_t at; (at = text.find(pattern, from)) != std::string::npos; from = at + pattern.size()) out.append(text, from, at - from) += content;
  text = out.append(text, from, std::string::npos);
}

using Metaspace = SentencePieceBpe::Metaspace;

// `node` is a {"type": "Metaspace", ...} pre-tokenizer or decoder; `where` names it in errors.
Metaspace parse_metaspace(const nlohmann::json& node, const std::string& where) {
  Metaspace m;
  m.replacement = text_at(node, "replacement", where);
  if (m.replacement.empty() || character_length(m.replacement, 0) != m.replacement.size())
    raise(where, ".replacement: expected one character, got '", m.replacement, "'");
  const auto& scheme = member(node, "prepend_scheme");
  if (scheme == "always" || scheme.is_null()) m.prepend = Metaspace::Prepend::kAlways;
  else if (scheme == "first") m.prepend = Metaspace::Prepend::kFirst;
  else if (scheme == "never") m.prepend = Metaspace::Prepend::kNever;
  else raise(where, ".prepend_scheme: expected always, first or never, got ", scheme.dump());
  if (!flag_at(node, "add_prefix_space", true, where)) {  // the older spelling of prepend_scheme: never
    if (!scheme.is_null() && m.prepend != Metaspace::Prepend::kNever)
      raise(where, ": add_prefix_space false contradicts prepend_scheme ", scheme.dump());
    m.prepend = Metaspace::Prepend::kNever;
  }
  m.split = flag_at(node, "split", true, where);
  return m;
}

// The byte a <0xXX> token stands for (as the library reads it: two hex digits, or '+' and one).
std::optional<unsigned char> byte_token(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return std::nullopt;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  const int high = token[3] == '+' ? 0 : hex(token[3]), low = hex(token[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<unsigned char>(high * 16 + low);
}

// ByteFallback: each run of <0xXX> tokens becomes its UTF-8 text, or one U+FFFD per byte if it is not valid UTF-8.
std::vector<std::string> bytes_to_text(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string run;
  auto flush = [&] {
    if (run.empty()) return;
    bool valid = true;
    for (size_t at = 0, n; valid && at < run.size(); at += n) valid = (n = character_length(run, at)) > 0;
    if (valid) out.push_back(run);
    else out.insert(out.end(), run.size(), "\xEF\xBF\xBD");
    run.clear();
  };
  for (const auto& token : tokens) {
    if (auto byte = byte_token(token)) {
      run += static_cast<char>(*byte);
      continue;
    }
    flush();
    out.push_back(token);
  }
  flush();
  return out;
}

// Strip: up to `start` leading and `stop` trailing copies of the character `content` off each token.
void strip(std::string& token, const std::string& content, size_t start, size_t stop) {
  for (; start > 0 && token.compare(0, content.size(), content) == 0; --start) token.erase(0, content.size());
  for (; stop > 0 && token.size() >= content.size() && token.compare(token.size() - content.size(), content.size(), content) == 0; --stop)
    token.resize(token.size() - content.size());
}

}  // namespace

SentencePieceBpe::SentencePieceBpe(const nlohmann::json& j, const BpeVocab& vocab, const std::string& path) {
  add_normalizer(member(j, "normalizer"), concat(path, ": normalizer"));
  const auto& pre = member(j, "pre_tokenizer");
  const std::string pre_where = concat(path, ": pre_tokenizer");
  if (member(pre, "type") == "Metaspace") metaspace_ = parse_metaspace(pre, pre_where);
  else if (!pre.is_null())
    raise(pre_where, ": ", member(pre, "type").dump(), " is not a pre-tokenizer of a SentencePiece-style BPE (Metaspace or null)");

  const auto& model = member(j, "model");
  const std::string model_where = concat(path, ": model");
  for (const char* unsupported : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!member(model, unsupported).is_null()) raise(model_where, ".", unsupported, ": not supported for a SentencePiece-style BPE");
  byte_fallback_ = flag_at(model, "byte_fallback", false, model_where);
  fuse_unk_ = flag_at(model, "fuse_unk", false, model_where);
  ignore_merges_ = flag_at(model, "ignore_merges", false, model_where);
  if (!member(model, "unk_token").is_null()) {
    const auto unk = text_at(model, "unk_token", model_where);
    auto it = vocab.find(unk);
    if (it == vocab.end()) raise(model_where, ".unk_token: '", unk, "' is not in model.vocab");
    unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab.find(name);
    byte_ids_[static_cast<size_t>(b)] = it == vocab.end() ? -1 : it->second;
  }
  if (const auto& decoder = member(j, "decoder"); !decoder.is_null()) {
    decoder_.emplace();
    add_decoder(decoder, concat(path, ": decoder"));
  }
}

void SentencePieceBpe::add_decoder(const nlohmann::json& node, const std::string& where) {
  const auto& type = member(node, "type");
  DecodeStep step;
  if (type == "Sequence") {
    const auto& steps = member(node, "decoders");
    if (!steps.is_array()) raise(where, ".decoders: expected a list");
    for (size_t i = 0; i < steps.size(); ++i) add_decoder(steps[i], concat(where, ".decoders[", i, "]"));
    return;
  }
  if (type == "Replace") {
    step.kind = DecodeStep::Kind::kReplace;
    step.pattern = string_pattern(node, where), step.content = text_at(node, "content", where);
  } else if (type == "ByteFallback") {
    step.kind = DecodeStep::Kind::kByteFallback;
  } else if (type == "Strip") {
    step.kind = DecodeStep::Kind::kStrip;
    step.content = text_at(node, "content", where);
    if (step.content.empty() || character_length(step.content, 0) != step.content.size())
      raise(where, ".content: expected one character, got '", step.content, "'");
    for (auto [name, count] : {std::pair{"start", &step.start}, std::pair{"stop", &step.stop}}) {
      const auto& value = member(node, name);
      if (!value.is_number_unsigned()) raise(where, ".", name, ": expected a count, got ", value.dump());
      *count = value.get<size_t>();
    }
  } else if (type == "Metaspace") {
    step.kind = DecodeStep::Kind::kMetaspace;
    step.metaspace = parse_metaspace(node, where);
  } else if (type != "Fuse") {
    raise(where, ": ", type.dump(), " is not a decoder of a SentencePiece-style BPE (Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence or null)");
  }
  decoder_->push_back(step);
}

void SentencePieceBpe::add_normalizer(const nlohmann::json& node, const std::string& where) {
  const auto& type = member(node, "type");
  if (node.is_null()) return;
  if (type == "Sequence") {
    const auto& steps = member(node, "normalizers");
    if (!steps.is_array()) raise(where, ".normalizers: expected a list");
    for (size_t i = 0; i < steps.size(); ++i) add_normalizer(steps[i], concat(where, ".normalizers[", i, "]"));
  } else if (type == "Prepend") {
    normalizer_.push_back({true, "", text_at(node, "prepend", where)});
  } else if (type == "Replace") {
    normalizer_.push_back({false, string_pattern(node, where), text_at(node, "content", where)});
  } else {
    raise(where, ": ", type.dump(), " is not a normalizer of a SentencePiece-style BPE (Prepend, Replace, Sequence or null)");
  }
}

void SentencePieceBpe::encode(const std::string& stretch, bool starts_text, const BpeVocab& vocab, const BpeMerges& merges,
                              std::vector<int64_t>& ids) const {
  std::string text = stretch;
  for (const auto& step : normalizer_) {
    if (step.prepend) text = text.empty() ? text : step.content + text;  // the library prepends to non-empty text only
    else replace_all(text, step.pattern, step.content);
  }
  for (const auto& word : words(std::move(text), starts_text)) {
    if (auto known = ignore_merges_ ? vocab.find(word) : vocab.end(); known != vocab.end()) {
      ids.push_back(known->second);
      continue;
    }
    auto merged = symbols(word, vocab);
    merges.apply(merged);
    ids.insert(ids.end(), merged.begin(), merged.end());
  }
}

std::vector<std::string> SentencePieceBpe::words(std::string text, bool starts_text) const {
  if (text.empty()) return {};
  if (!metaspace_) return {text};
  const auto& m = *metaspace_;
  replace_all(text, " ", m.replacement);
  const bool prepend = m.prepend == Metaspace::Prepend::kAlways || (m.prepend == Metaspace::Prepend::kFirst && starts_text);
  if (prepend && text.compare(0, m.replacement.size(), m.replacement) != 0) text = m.replacement + text;
  if (!m.split) return {text};
  std::vector<std::string> out;  // a new word before every replacement character (MergedWithNext)
  size_t start = 0;
  for (size_t at = text.find(m.replacement, 1); at != std::string::npos; at = text.find(m.replacement, at + 1))
    out.push_back(text.substr(start, at - start)), start = at;
  out.push_back(text.substr(start));
  return out;
}

std::string SentencePieceBpe::decode(std::vector<std::string> tokens) const {
  std::string out;
  if (!decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& step : *decoder_) {
    if (step.kind == DecodeStep::Kind::kByteFallback) tokens = bytes_to_text(tokens);
    if (step.kind == DecodeStep::Kind::kFuse) {
      for (size_t i = 1; i < tokens.size(); ++i) tokens[0] += tokens[i];
      tokens.resize(std::min<size_t>(tokens.size(), 1));
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (step.kind == DecodeStep::Kind::kReplace) replace_all(tokens[i], step.pattern, step.content);
      if (step.kind == DecodeStep::Kind::kStrip) strip(tokens[i], step.content, step.start, step.stop);
      if (step.kind != DecodeStep::Kind::kMetaspace) continue;
      // The library drops every replacement character of the first token when it prepends one on encoding.
      const bool drop = i == 0 && step.metaspace.prepend != Metaspace::Prepend::kNever;
      replace_all(tokens[i], step.metaspace.replacement, drop ? "" : " ");
    }
  }
  for (const auto& token : tokens) out += token;
  return out;
}

// As the library's BPE::merge_word: a pending <unk> is written when a known character or the end follows it.
std::vector<int64_t> SentencePieceBpe::symbols(const std::string& word, const BpeVocab& vocab) const {
  std::vector<int64_t> out;
  bool unk_pending = false;
  for (size_t at = 0; at < word.size();) {
    const size_t n = std::max<size_t>(character_length(word, at), 1);  // a stray byte stands alone
    const std::string character = word.substr(at, n);
    at += n;
    if (auto it = vocab.find(character); it != vocab.end()) {
      if (unk_pending) out.push_back(*unk_id_), unk_pending = false;
      out.push_back(it->second);
      continue;
    }
    bool bytes_known = byte_fallback_;
    for (unsigned char c : character) bytes_known = bytes_known && byte_ids_[c] >= 0;
    if (bytes_known) {
      for (unsigned char c : character) out.push_back(byte_ids_[c]);
      continue;
    }
    if (!unk_id_) continue;  // no <unk> either: the character is dropped
    if (unk_pending && !fuse_unk_) out.push_back(*unk_id_);
    unk_pending = true;
  }
  if (unk_pending) out.push_back(*unk_id_);
  return out;
}

}  // namespace emotune
