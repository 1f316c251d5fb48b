// Delimited text files (CSV, TSV, the single-quoted CSV of the Abstract dataset) read through Debian's libcsv,
// which handles quoting, embedded delimiters and embedded newlines. Each record keeps the line it starts on,
// so a converter can name `file:line` in its errors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct CsvRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> cells;
};

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
};

// Every record of the file, header included; empty lines are skipped. Malformed quoting is an error naming
// the file and line.
std::vector<CsvRecord> read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace emotune
