// Delimited text as the dataset converters read it (data/csv_table.h). Input: one byte choosing the dialect
// (CSV, TSV, the Abstract dataset's single-quoted CSV), the file.
#include <cstdlib>

#include "data/csv_table.h"
#include "fuzz_target.h"

EMOTUNE_FUZZ_TARGET(csv) {
  using namespace emotune;
  if (input.empty()) return;
  static const CsvOptions dialects[] = {{',', '"'}, {'\t', '"'}, {',', '\''}};
  const auto& dialect = dialects[static_cast<unsigned char>(input[0]) % 3];
  int64_t last_line = 0;
  for (const auto& record : read_csv(fuzz::scratch_file("table.csv", input.substr(1)), dialect)) {
    if (record.line < last_line || record.line < 1) std::abort();  // lines named in errors must be real and in order
    last_line = record.line;
  }
}
