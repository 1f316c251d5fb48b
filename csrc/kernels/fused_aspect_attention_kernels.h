// Raw-pointer launchers of the fused aspect-attention CUDA kernels (fused_aspect_attention.cu). This header
// includes no CUDA and no LibTorch header, so the LibTorch glue (fused_aspect_attention.cpp) compiles on
// every machine and nvcc compiles the kernels without LibTorch's headers.
//
// Shapes (row-major): V [B, T, D] (fp32 or bf16), U [AQ, D] or [B, AQ, D] (fp32), S [splits, B, AQ, T] and
// P [B, AQ, T] (fp32), C [splits, B, AQ, D] (fp32). Every kernel accumulates in fp32. `stream` is a cudaStream_t.
#pragma once
#include <cstdint>

namespace emotune::cuda {

enum class VisualType { f32, bf16 };
constexpr int kMaxQueries = 64;  // A·Q of one call (six aspects × up to 10 queries)

// How a launcher splits the reduced length across blocks (D for the scores, T for the context) when B·T or
// B·D alone would leave the GPU idle: the output gets `splits` planes of partial sums. The softmax launchers add
// the score planes (pass them the same `splits`); the caller adds the context planes. Depends on the shapes and
// the device only.
struct Split {
  int splits = 1, per_split = 0;
};
Split score_split(int B, int T, int D);
Split context_split(int B, int T, int D);

// S[z,b,q,t] = scale · Σ_{d in slice z} V[b,t,d] · U[b?,q,d]; u_batch_stride = 0 shares U across the batch.
void launch_scores(const void* V, VisualType type, const float* U, int64_t u_batch_stride, float* S, int B, int T,
                   int D, int AQ, float scale, void* stream);
// In place over rows of length T of plane 0 (after adding the other split planes): S -> softmax(S).
void launch_softmax_rows(float* S, int rows, int T, int splits, void* stream);
// In place on plane 0 of G (after adding its split planes): G (dL/dP) -> dL/dS = scale · P ⊙ (G − Σ_t P G), per row.
void launch_softmax_backward(const float* P, float* G, int rows, int T, int splits, float scale, void* stream);
// C[z,b,q,d] = Σ_{t in slice z} P[b,q,t] · V[b,t,d].
void launch_context(const void* V, VisualType type, const float* P, float* C, int B, int T, int D, int AQ, void* stream);
// 0 when the last launch succeeded, else the CUDA error string.
const char* last_launch_error();

}  // namespace emotune::cuda
