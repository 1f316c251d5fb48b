// Raw-pointer launchers of the fused aspect-attention CUDA kernels (fused_aspect_attention.cu). This header
// includes no CUDA and no LibTorch header, so the LibTorch glue (fused_aspect_attention.cpp) compiles on
// every machine and nvcc compiles the kernels without LibTorch's headers.
//
// Shapes (row-major): V [B, T, D] (fp32 or bf16), U [AQ, D] or [B, AQ, D] (fp32), S/P [B, AQ, T] (fp32),
// C [B, AQ, D] or [AQ, D] (fp32). Every kernel accumulates in fp32. `stream` is a cudaStream_t.
#pragma once
#include <cstdint>

namespace emotune::cuda {

enum class VisualType { f32, bf16 };
constexpr int kMaxQueries = 64;  // A·Q of one call (six aspects × up to 10 queries)

// S[b,q,t] = scale · Σ_d V[b,t,d] · U[b?,q,d]; u_batch_stride = 0 shares U across the batch.
void launch_scores(const void* V, VisualType type, const float* U, int64_t u_batch_stride, float* S, int B, int T,
                   int D, int AQ, float scale, void* stream);
// In place over rows of length T: S -> softmax(S).
void launch_softmax_rows(float* S, int rows, int T, void* stream);
// In place: G (dL/dP) -> dL/dS = scale · P ⊙ (G − Σ_t P G), per row.
void launch_softmax_backward(const float* P, float* G, int rows, int T, float scale, void* stream);
// C[b,q,d] = Σ_t P[b,q,t] · V[b,t,d]; with sum_over_batch, C[q,d] = Σ_b of that (one write per element).
void launch_context(const void* V, VisualType type, const float* P, float* C, int B, int T, int D, int AQ,
                    bool sum_over_batch, void* stream);
// 0 when the last launch succeeded, else the CUDA error string.
const char* last_launch_error();

}  // namespace emotune::cuda
