// SHA-256 (OpenSSL's EVP) as lowercase hex: the pixel cache's staleness check, the fingerprints every rank of a
// distributed run compares.
#pragma once
#include <string>
#include <string_view>

namespace emotune {

std::string sha256_hex(std::string_view bytes);
// Of a whole file (core/atomic_file.h read_file: an unreadable file is an error naming it).
std::string sha256_of_file(const std::string& path);

}  // namespace emotune
