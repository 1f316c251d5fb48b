#include "vlm/spm_plugin/sentencepiece_plugin.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

namespace {
int copy_out(const std::string& s, char* out, int cap) {
  if (cap > 0) std::memcpy(out, s.data(), std::min<size_t>(s.size(), static_cast<size_t>(cap)));
  return static_cast<int>(s.size());
}
}  // namespace

extern "C" {

void* emotune_spm_load(const char* path, char* err, size_t err_size) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    std::snprintf(err, err_size, "%s", status.ToString().c_str());
    delete sp;
    return nullptr;
  }
  return sp;
}

void emotune_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

int emotune_spm_size(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize(); }

int emotune_spm_encode(void* handle, const char* text, size_t text_size, int* ids, int cap) {
  std::vector<int> out;
  if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string(text, text_size), &out).ok()) return -1;
  if (cap > 0) std::memcpy(ids, out.data(), sizeof(int) * std::min<size_t>(out.size(), static_cast<size_t>(cap)));
  return static_cast<int>(out.size());
}

int emotune_spm_decode(void* handle, const int* ids, int count, char* text, int cap) {
  std::string out;
  if (!static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(std::vector<int>(ids, ids + count), &out).ok()) return -1;
  return copy_out(out, text, cap);
}

int emotune_spm_piece(void* handle, int id, char* text, int cap) {
  return copy_out(static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id), text, cap);
}
}
