#include "core/sha256.h"

#include <openssl/evp.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) raise("SHA-256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += {hex[digest[i] >> 4], hex[digest[i] & 15]};
  return out;
}

std::string sha256_of_file(const std::string& path) { return sha256_hex(read_file(path)); }

}  // namespace emotune
