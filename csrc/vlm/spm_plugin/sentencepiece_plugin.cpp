#include "vlm/spm_plugin/sentencepiece_plugin.h"

#include <sentencepiece_processor.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {
// Protobuf wire format over [begin, end): calls visit(field, varint value, payload begin, payload end) per field
// (payload only for length-delimited ones); false on malformed input or when visit says stop.
bool read_varint(const std::string& s, size_t& at, size_t end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && at < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(s[at++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

template <typename Visit>
bool for_each_field(const std::string& s, size_t begin, size_t end, Visit visit) {
  for (size_t at = begin; at < end;) {
    uint64_t key = 0, value = 0;
    if (!read_varint(s, at, end, key)) return false;
    size_t payload_begin = at, payload_end = at;
    switch (key & 7) {
      case 0: if (!read_varint(s, at, end, value)) return false; break;
      case 1: at += 8; break;
      case 5: at += 4; break;
      case 2:
        if (!read_varint(s, at, end, value) || value > end - at) return false;
        payload_begin = at, payload_end = at + value, at += value;
        break;
      default: return false;
    }
    if (at > end || !visit(key >> 3, value, payload_begin, payload_end)) return false;
  }
  return true;
}

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

// This sentencepiece (0.1.97) has no IsUserDefined() and ships no header for ModelProto, so the types are read
// from the serialized model: ModelProto field 1 is the repeated SentencePiece {1: piece, 2: score, 3: type}
// (protobuf wire format: a varint key = field << 3 | wire type; 0 varint, 1 fixed64, 2 length-delimited,
// 5 fixed32). A piece without a type field is NORMAL.
int emotune_spm_piece_types(void* handle, int* types, int cap) {
  const std::string model = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->serialized_model_proto();
  int count = 0;
  const bool ok = for_each_field(model, 0, model.size(), [&](uint64_t field, uint64_t value, size_t begin, size_t end) {
    if (field != 1) return true;
    uint64_t type = 1;
    const bool piece_ok = for_each_field(model, begin, end, [&](uint64_t f, uint64_t v, size_t, size_t) {
      if (f == 3) type = v;
      return true;
    });
    if (count < cap) types[count] = static_cast<int>(type);
    ++count;
    return piece_ok;
  });
  return ok ? count : -1;
}
}
