#include "data/csv_table.h"

#include <csv.h>

#include <fstream>
#include <memory>

#include "core/error.h"

namespace emotune {

namespace {
struct Collector {
  std::vector<CsvRecord> records;
  CsvRecord current;
  int64_t line = 1;
  bool record_started = false;
};

void on_field(void* data, size_t size, void* out) {
  auto* c = static_cast<Collector*>(out);
  if (!c->record_started) c->current.line = c->line, c->record_started = true;
  c->current.cells.emplace_back(static_cast<const char*>(data), size);
}

void on_record(int, void* out) {
  auto* c = static_cast<Collector*>(out);
  if (!c->record_started) c->current.line = c->line;
  c->records.push_back(std::move(c->current));
  c->current = CsvRecord{};
  c->record_started = false;
}

// Only ' ' is trimmed around unquoted cells: libcsv's default also trims tabs, which would swallow empty
// cells of tab-separated files.
int is_space(unsigned char ch) { return ch == ' '; }
}  // namespace

std::vector<CsvRecord> read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) raise("cannot read '", path, "'");
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) raise("libcsv: cannot initialise a parser");
  std::unique_ptr<csv_parser, void (*)(csv_parser*)> guard(&parser, csv_free);
  csv_set_delim(&parser, static_cast<unsigned char>(options.delimiter));
  csv_set_quote(&parser, static_cast<unsigned char>(options.quote));
  csv_set_space_func(&parser, is_space);
  Collector collector;
  std::string text;
  // Fed line by line so the collector always knows the current line number.
  while (std::getline(in, text)) {
    text.push_back('\n');
    if (csv_parse(&parser, text.data(), text.size(), on_field, on_record, &collector) != text.size())
      raise(path, ":", collector.line, ": ", csv_strerror(csv_error(&parser)),
            " (expected cells separated by '", options.delimiter == '\t' ? std::string("\\t") : std::string(1, options.delimiter),
            "', quoted with ", options.quote, ")");
    ++collector.line;
  }
  if (csv_fini(&parser, on_field, on_record, &collector) != 0)
    raise(path, ":", collector.current.line, ": unterminated quoted cell (", csv_strerror(csv_error(&parser)), ")");
  return std::move(collector.records);
}

}  // namespace emotune
