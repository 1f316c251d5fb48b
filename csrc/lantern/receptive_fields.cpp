#include "lantern/receptive_fields.h"

#include <algorithm>

#include "core/error.h"

namespace emotune {

std::vector<ReceptiveField> receptive_fields(int64_t n, int64_t window, int64_t per_item, const char* window_key,
                                             const char* per_item_key) {
  if (window < 1) raise("Lantern: ", window_key, " must be at least 1, got ", window);
  if (per_item < 1 || per_item > window || window % per_item != 0)
    raise("Lantern: ", per_item_key, " must divide ", window_key, " (", window, ") so that every item lies in exactly that many fields; got ",
          per_item);
  if (n < 0) raise("internal: a sequence of ", n, " items");
  if (n == 0) return {};
  const int64_t stride = window / per_item;
  std::vector<ReceptiveField> fields;
  // m from the first window that reaches item 0 (m·s + w > 0) to the last that starts before n.
  const int64_t first = -(per_item - 1);
  for (int64_t m = first; m * stride < n; ++m) {
    const int64_t begin = m * stride;
    fields.push_back({std::max<int64_t>(begin, 0), std::min(begin + window, n)});
  }
  return fields;
}

}  // namespace emotune
