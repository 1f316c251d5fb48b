// The sentencepiece tokenizer, through the plugin of vlm/spm_plugin (see its header for why).
#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "vlm/special_tokens.h"
#include "vlm/spm_plugin/sentencepiece_plugin.h"
#include "vlm/tokenizer.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

struct Plugin {
  decltype(&emotune_spm_load) load;
  decltype(&emotune_spm_free) free;
  decltype(&emotune_spm_size) size;
  decltype(&emotune_spm_encode) encode;
  decltype(&emotune_spm_decode) decode;
  decltype(&emotune_spm_piece) piece;
  decltype(&emotune_spm_piece_types) piece_types;
};

// EMOTUNE_SPM_PLUGIN, else next to the running executable, else where the build put it.
std::string plugin_path() {
  if (const char* env = std::getenv("EMOTUNE_SPM_PLUGIN")) return env;
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(exe.parent_path() / "libemotune_spm.so")) return (exe.parent_path() / "libemotune_spm.so").string();
  return EMOTUNE_SPM_PLUGIN_PATH;
}

const Plugin& plugin() {
  static Plugin p;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string path = plugin_path();
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer refuses RTLD_DEEPBIND; a link-map namespace of its own isolates the plugin's protobuf
    // just as well (scripts/sanitize.sh).
    void* lib = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
    if (!lib) raise("cannot load the sentencepiece plugin '", path, "': ", dlerror(), " (set EMOTUNE_SPM_PLUGIN)");
    auto sym = [&](const char* name) {
      void* f = dlsym(lib, name);
      if (!f) raise("sentencepiece plugin '", path, "' lacks ", name);
      return f;
    };
    p.load = reinterpret_cast<decltype(p.load)>(sym("emotune_spm_load"));
    p.free = reinterpret_cast<decltype(p.free)>(sym("emotune_spm_free"));
    p.size = reinterpret_cast<decltype(p.size)>(sym("emotune_spm_size"));
    p.encode = reinterpret_cast<decltype(p.encode)>(sym("emotune_spm_encode"));
    p.decode = reinterpret_cast<decltype(p.decode)>(sym("emotune_spm_decode"));
    p.piece = reinterpret_cast<decltype(p.piece)>(sym("emotune_spm_piece"));
    p.piece_types = reinterpret_cast<decltype(p.piece_types)>(sym("emotune_spm_piece_types"));
  });
  return p;
}

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) : path_(path) {
    if (!fs::exists(path)) raise(path, ": tokenizer file not found");
    char err[512] = {0};
    handle_ = plugin().load(path.c_str(), err, sizeof err);
    if (!handle_) raise(path, ": cannot load sentencepiece model: ", err);
    // Control ("<s>", "</s>"), user-defined (chat markers) and unknown pieces are special tokens, as in the
    // added_tokens of Hugging Face's tokenizer.json for the same model.
    enum PieceType { kUnknown = 2, kControl = 3, kUserDefined = 4 };  // sentencepiece_model.proto
    std::vector<int> types(static_cast<size_t>(plugin().size(handle_)));
    if (plugin().piece_types(handle_, types.data(), static_cast<int>(types.size())) != static_cast<int>(types.size()))
      raise(path, ": cannot read the piece types of the sentencepiece model");
    for (int id = 0; id < static_cast<int>(types.size()); ++id) {
      const int type = types[static_cast<size_t>(id)];
      if (type == kControl || type == kUserDefined || type == kUnknown) {
        auto text = piece(id);
        if (!text.empty()) specials_.add(text, id, path);
      }
    }
  }
  ~SentencePieceTokenizer() override { plugin().free(handle_); }

  // Special tokens by id, the text between them through sentencepiece one stretch at a time (each stretch
  // gets the model's dummy prefix, if it has one, as in Hugging Face's legacy Llama/Mistral tokenizers).
  std::vector<int64_t> encode(const std::string& text) const override {
    return specials_.encode(text, [this](const std::string& plain, std::vector<int64_t>& ids) {
      auto more = encode_plain(plain);
      ids.insert(ids.end(), more.begin(), more.end());
    });
  }
  std::optional<int64_t> special_token_id(const std::string& text) const override { return specials_.id_of(text); }

 private:
  std::vector<int64_t> encode_plain(const std::string& text) const {
    std::vector<int> ids(text.size() + 8);
    int n = plugin().encode(handle_, text.data(), text.size(), ids.data(), static_cast<int>(ids.size()));
    if (n > static_cast<int>(ids.size())) {
      ids.resize(static_cast<size_t>(n));
      n = plugin().encode(handle_, text.data(), text.size(), ids.data(), n);
    }
    if (n < 0) raise(path_, ": cannot encode text");
    return {ids.begin(), ids.begin() + n};
  }

 public:
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<int> narrow(ids.begin(), ids.end());
    std::string text(64 + ids.size() * 16, '\0');
    int n = plugin().decode(handle_, narrow.data(), static_cast<int>(narrow.size()), text.data(), static_cast<int>(text.size()));
    if (n > static_cast<int>(text.size())) {
      text.resize(static_cast<size_t>(n));
      n = plugin().decode(handle_, narrow.data(), static_cast<int>(narrow.size()), text.data(), n);
    }
    if (n < 0) raise(path_, ": cannot decode ids");
    text.resize(static_cast<size_t>(n));
    return text;
  }
  std::string piece(int64_t id) const override {
    char buf[256];
    int n = plugin().piece(handle_, static_cast<int>(id), buf, sizeof buf);
    return std::string(buf, static_cast<size_t>(std::min<int>(n, sizeof buf)));
  }
  int64_t size() const override { return plugin().size(handle_); }

 private:
  std::string path_;
  void* handle_ = nullptr;
  SpecialTokens specials_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace emotune
