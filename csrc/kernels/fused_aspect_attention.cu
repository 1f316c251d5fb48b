// Fused aspect attention on the GPU (issue 5). MASP's aspect modules (Eq. 1) are single-head attention blocks
// whose keys and values are projections of the frozen visual tokens V. For a query q' = Wq q + bq,
//   q'·(Wk v + bk)/√D = (Wkᵀ q')·v/√D + const,  and  Σ_t a_t (Wv v_t + bv) = Wv (Σ_t a_t v_t) + bv,
// so with u = Wkᵀ q' (image-independent, computed once by LibTorch) only two thin passes over V remain for
// all A·Q query tokens of all aspects at once:
//   scores:  S = V u / √D        (launch_scores: one read of V per image, u shared and L2-resident)
//   softmax: P = softmax_t(S)    (launch_softmax_rows)
//   context: C = P V             (launch_context: the second read of V)
// The output projections z = Wo (Wv c + bv) + bo are small per-query matrix products left to cuBLAS via
// LibTorch. Backward w.r.t. u (V is frozen) reuses the same two passes: dP = dC Vᵀ (scores with a per-image
// "u"), dS = softmax backward, du = Σ_b dSᵀ V (context summed over the batch).
// The CPU reference of exactly this algebra is aspect_context_reference() in fused_aspect_attention.cpp;
// bench/check_fused_attention.cpp checks one against the other.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/fused_aspect_attention_kernels.h"

namespace emotune::cuda {
namespace {

constexpr int kTokenTile = 32, kDimTile = 64, kThreads = 256;

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// One block: kTokenTile tokens of one image × all AQ queries; D walked in kDimTile chunks through shared memory.
template <typename VT>
__global__ void scores_kernel(const VT* __restrict__ V, const float* __restrict__ U, int64_t u_batch_stride,
                              float* __restrict__ S, int T, int D, int AQ, float scale) {
  __shared__ float v_tile[kTokenTile][kDimTile + 1];
  __shared__ float u_tile[kMaxQueries][kDimTile + 1];
  const int b = blockIdx.y, t0 = blockIdx.x * kTokenTile;
  const VT* Vb = V + static_cast<int64_t>(b) * T * D;
  const float* Ub = U + b * u_batch_stride;
  constexpr int kPerThread = kTokenTile * kMaxQueries / kThreads;  // 8 (token, query) outputs per thread
  float acc[kPerThread];
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) acc[k] = 0.f;
  for (int d0 = 0; d0 < D; d0 += kDimTile) {
    for (int i = threadIdx.x; i < kTokenTile * kDimTile; i += kThreads) {
      int t = i / kDimTile, d = i % kDimTile;
      v_tile[t][d] = (t0 + t < T && d0 + d < D) ? to_float(Vb[static_cast<int64_t>(t0 + t) * D + d0 + d]) : 0.f;
    }
    for (int i = threadIdx.x; i < AQ * kDimTile; i += kThreads) {
      int q = i / kDimTile, d = i % kDimTile;
      u_tile[q][d] = d0 + d < D ? Ub[static_cast<int64_t>(q) * D + d0 + d] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      int out = threadIdx.x + k * kThreads, t = out % kTokenTile, q = out / kTokenTile;
      if (q < AQ) {
        float s = 0.f;
#pragma unroll 8
        for (int d = 0; d < kDimTile; ++d) s += v_tile[t][d] * u_tile[q][d];
        acc[k] += s;
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    int out = threadIdx.x + k * kThreads, t = out % kTokenTile, q = out / kTokenTile;
    if (q < AQ && t0 + t < T) S[(static_cast<int64_t>(b) * AQ + q) * T + t0 + t] = acc[k] * scale;
  }
}

__device__ float block_reduce(float v, bool is_max) {
  __shared__ float part[32];
  for (int o = 16; o > 0; o >>= 1) {
    float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = threadIdx.x < warps ? part[threadIdx.x] : (is_max ? -INFINITY : 0.f);
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) {
      float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? fmaxf(v, w) : v + w;
    }
  if (threadIdx.x == 0) part[0] = v;
  __syncthreads();
  return part[0];
}

__global__ void softmax_rows_kernel(float* S, int T) {
  float* row = S + static_cast<int64_t>(blockIdx.x) * T;
  float m = -INFINITY;
  for (int t = threadIdx.x; t < T; t += blockDim.x) m = fmaxf(m, row[t]);
  m = block_reduce(m, true);
  float z = 0.f;
  for (int t = threadIdx.x; t < T; t += blockDim.x) z += __expf(row[t] - m);
  z = block_reduce(z, false);
  for (int t = threadIdx.x; t < T; t += blockDim.x) row[t] = __expf(row[t] - m) / z;
}

__global__ void softmax_backward_kernel(const float* P, float* G, int T, float scale) {
  const float* p = P + static_cast<int64_t>(blockIdx.x) * T;
  float* g = G + static_cast<int64_t>(blockIdx.x) * T;
  float dot = 0.f;
  for (int t = threadIdx.x; t < T; t += blockDim.x) dot += p[t] * g[t];
  dot = block_reduce(dot, false);
  for (int t = threadIdx.x; t < T; t += blockDim.x) g[t] = scale * p[t] * (g[t] - dot);
}

// One block: 128 consecutive dims of one image (or of all images, summed), all AQ queries in registers.
// Threads read V rows coalesced; P is staged in shared memory kTokenTile tokens at a time.
template <typename VT>
__global__ void context_kernel(const VT* __restrict__ V, const float* __restrict__ P, float* __restrict__ C, int B,
                               int T, int D, int AQ, bool sum_over_batch) {
  __shared__ float p_tile[kMaxQueries][kTokenTile];
  const int d = blockIdx.x * blockDim.x + threadIdx.x;
  const int b_first = sum_over_batch ? 0 : blockIdx.y, b_last = sum_over_batch ? B : blockIdx.y + 1;
  float acc[kMaxQueries];
#pragma unroll
  for (int q = 0; q < kMaxQueries; ++q) acc[q] = 0.f;
  for (int b = b_first; b < b_last; ++b) {
    const VT* Vb = V + static_cast<int64_t>(b) * T * D;
    const float* Pb = P + static_cast<int64_t>(b) * AQ * T;
    for (int t0 = 0; t0 < T; t0 += kTokenTile) {
      for (int i = threadIdx.x; i < AQ * kTokenTile; i += blockDim.x) {
        int q = i / kTokenTile, t = i % kTokenTile;
        p_tile[q][t] = t0 + t < T ? Pb[static_cast<int64_t>(q) * T + t0 + t] : 0.f;
      }
      __syncthreads();
      if (d < D) {
        const int tn = min(kTokenTile, T - t0);
        for (int t = 0; t < tn; ++t) {
          float v = to_float(Vb[static_cast<int64_t>(t0 + t) * D + d]);
#pragma unroll
          for (int q = 0; q < kMaxQueries; ++q)
            if (q < AQ) acc[q] += p_tile[q][t] * v;
        }
      }
      __syncthreads();
    }
  }
  if (d >= D) return;
  float* Cb = C + (sum_over_batch ? 0 : static_cast<int64_t>(blockIdx.y) * AQ * D);
#pragma unroll
  for (int q = 0; q < kMaxQueries; ++q)
    if (q < AQ) Cb[static_cast<int64_t>(q) * D + d] = acc[q];
}

thread_local cudaError_t last_error = cudaSuccess;
void note_launch() { last_error = cudaGetLastError(); }

}  // namespace

void launch_scores(const void* V, VisualType type, const float* U, int64_t u_batch_stride, float* S, int B, int T,
                   int D, int AQ, float scale, void* stream) {
  dim3 grid((T + kTokenTile - 1) / kTokenTile, B);
  auto s = static_cast<cudaStream_t>(stream);
  if (type == VisualType::bf16)
    scores_kernel<<<grid, kThreads, 0, s>>>(static_cast<const __nv_bfloat16*>(V), U, u_batch_stride, S, T, D, AQ, scale);
  else
    scores_kernel<<<grid, kThreads, 0, s>>>(static_cast<const float*>(V), U, u_batch_stride, S, T, D, AQ, scale);
  note_launch();
}

void launch_softmax_rows(float* S, int rows, int T, void* stream) {
  softmax_rows_kernel<<<rows, 256, 0, static_cast<cudaStream_t>(stream)>>>(S, T);
  note_launch();
}

void launch_softmax_backward(const float* P, float* G, int rows, int T, float scale, void* stream) {
  softmax_backward_kernel<<<rows, 256, 0, static_cast<cudaStream_t>(stream)>>>(P, G, T, scale);
  note_launch();
}

void launch_context(const void* V, VisualType type, const float* P, float* C, int B, int T, int D, int AQ,
                    bool sum_over_batch, void* stream) {
  dim3 grid((D + 127) / 128, sum_over_batch ? 1 : B);
  auto s = static_cast<cudaStream_t>(stream);
  if (type == VisualType::bf16)
    context_kernel<<<grid, 128, 0, s>>>(static_cast<const __nv_bfloat16*>(V), P, C, B, T, D, AQ, sum_over_batch);
  else
    context_kernel<<<grid, 128, 0, s>>>(static_cast<const float*>(V), P, C, B, T, D, AQ, sum_over_batch);
  note_launch();
}

const char* last_launch_error() { return last_error == cudaSuccess ? nullptr : cudaGetErrorString(last_error); }

}  // namespace emotune::cuda
