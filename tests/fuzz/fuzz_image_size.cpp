// Image headers read before decoding, for the pixel limit (data/image_size.h).
#include <cstdlib>

#include "data/image_size.h"
#include "fuzz_target.h"

EMOTUNE_FUZZ_TARGET(image_size) {
  if (auto size = emotune::read_encoded_image_size(input))
    if (size->width <= 0 || size->height <= 0) std::abort();
}
