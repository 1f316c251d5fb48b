// Precompiled header for every emotune target: LibTorch's C++ frontend is by far the most expensive include.
#pragma once
#include <torch/torch.h>
