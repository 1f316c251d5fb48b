#include "io/safetensors.h"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {
namespace {

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
constexpr DtypeName kDtypes[] = {
    {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"}, {torch::kFloat64, "F64"},
    {torch::kInt64, "I64"},   {torch::kInt32, "I32"},   {torch::kInt16, "I16"},     {torch::kInt8, "I8"},
    {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"},
};

const char* dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  raise("safetensors: unsupported tensor dtype ", c10::toString(t));
}

bool dtype_of(const std::string& name, torch::ScalarType* out) {
  for (const auto& d : kDtypes)
    if (name == d.name) return *out = d.type, true;
  return false;
}

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") raise("safetensors: '__metadata__' is not a valid tensor name");
    auto c = t.detach().to(torch::kCPU).contiguous();
    size_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type())}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string json = header.dump();
  while ((json.size() + 8) % 8 != 0) json.push_back(' ');  // data starts 8-byte aligned
  std::string out;
  out.reserve(8 + json.size() + offset);
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += json;
  for (const auto& c : data) out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  return out;
}

namespace {

// The format requires the tensors' byte ranges to tile the data section: no overlap (two tensors aliasing the
// same bytes), no gap, nothing after the last. Empty tensors take no bytes and may sit at any boundary.
void check_tiling(std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans, size_t data_size, const std::string& source) {
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  for (const auto& [begin, end, name] : spans) {
    if (begin < at) raise(source, ": tensor '", name, "' (bytes ", begin, "-", end, ") overlaps the tensor before it, which ends at ", at);
    if (begin > at) raise(source, ": a gap of ", begin - at, " bytes before tensor '", name, "' (the data section must be tiled)");
    at = end;
  }
  if (at != data_size) raise(source, ": ", data_size - at, " bytes after the last tensor (the data section must be tiled)");
}

}  // namespace

SafetensorsContent parse_safetensors(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 8) raise(source, ": not a safetensors file (", bytes.size(), " bytes, the header length alone takes 8)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) raise(source, ": truncated safetensors file (header claims ", n, " bytes, file has ", bytes.size() - 8, ")");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    raise(source, ": corrupt safetensors header: ", e.what());
  }
  if (!header.is_object()) raise(source, ": corrupt safetensors header: expected a JSON object");
  const size_t data_begin = 8 + n, data_size = bytes.size() - data_begin;
  SafetensorsContent out;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans;  // checked to tile the data section below
  for (auto it = header.begin(); it != header.end(); ++it) {
    const auto& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) raise(source, ": __metadata__ must map strings to strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) raise(source, ": __metadata__['", m.key(), "'] is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    try {
      torch::ScalarType type;
      auto dname = v.at("dtype").get<std::string>();
      if (!dtype_of(dname, &type)) raise(source, ": tensor '", name, "' has unsupported dtype ", dname);
      auto shape = v.at("shape").get<std::vector<int64_t>>();
      auto offs = v.at("data_offsets").get<std::vector<uint64_t>>();
      if (offs.size() != 2 || offs[0] > offs[1]) raise(source, ": tensor '", name, "' has invalid data_offsets");
      int64_t numel = 1;
      for (auto d : shape) {
        if (d < 0) raise(source, ": tensor '", name, "' has a negative dimension");
        numel *= d;
      }
      size_t expect = static_cast<size_t>(numel) * c10::elementSize(type);
      if (offs[1] - offs[0] != expect)
        raise(source, ": tensor '", name, "' spans ", offs[1] - offs[0], " bytes but its shape needs ", expect);
      if (offs[1] > data_size)
        raise(source, ": truncated safetensors file: tensor '", name, "' ends at byte ", offs[1], " of a ", data_size, "-byte data section");
      spans.emplace_back(offs[0], offs[1], name);
      auto t = torch::empty(shape, torch::TensorOptions().dtype(type));
      if (expect) std::memcpy(t.data_ptr(), bytes.data() + data_begin + offs[0], expect);
      out.tensors[name] = t;
    } catch (const nlohmann::json::exception& e) {
      raise(source, ": corrupt entry for tensor '", name, "': ", e.what());
    }
  }
  check_tiling(spans, data_size, source);
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

SafetensorsContent load_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

SafetensorsIndex read_safetensors_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) raise("cannot read '", path, "'");
  unsigned char len[8];
  if (!in.read(reinterpret_cast<char*>(len), 8)) raise(path, ": not a safetensors file (shorter than 8 bytes)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  in.seekg(0, std::ios::end);
  if (n > static_cast<uint64_t>(in.tellg()) - 8) raise(path, ": truncated safetensors file (header claims ", n, " bytes)");
  std::string header(n, '\0');
  in.seekg(8);
  in.read(header.data(), static_cast<std::streamsize>(n));
  SafetensorsIndex out;
  try {
    auto j = nlohmann::json::parse(header);
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "__metadata__") {
        for (auto m = it.value().begin(); m != it.value().end(); ++m) out.metadata[m.key()] = m.value().get<std::string>();
      } else {
        out.shapes[it.key()] = it.value().at("shape").get<std::vector<int64_t>>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    raise(path, ": corrupt safetensors header: ", e.what());
  }
  return out;
}

}  // namespace emotune
