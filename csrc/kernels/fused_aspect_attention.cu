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
// "u"), dS = softmax backward, du = Σ_b dS_bᵀ V_b (the context pass per image, summed by the caller).
//
// Both passes are compute-bound on CUDA cores before they are bandwidth-bound (A·Q = 30 FMAs per element of V),
// so each thread keeps several outputs in registers and reads its operands from shared memory as float4:
//   scores:  a 4-token × 4-query tile per thread, 16 FMAs per two 16-byte shared loads;
//   context: one dimension per thread, A·Q accumulators, 4 FMAs per 16-byte (broadcast) shared load of P.
// Measured on an H100 in docs/benchmarks.md (bench/bench_fused_attention.cpp).
// The CPU reference of exactly this algebra is aspect_context_reference() in fused_aspect_attention.cpp;
// bench/check_fused_attention.cpp checks one against the other.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/fused_aspect_attention_kernels.h"

namespace emotune::cuda {
namespace {

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// Scores: one block = kScoreTokens tokens of one image × QT query slots (32, or 64 when A·Q > 32) × one slice
// of D (blockIdx.z; a split of D keeps the GPU busy when B·T is small, and each slice's partial sums go to
// their own plane of S, summed by the softmax — deterministic, no atomics). Thread (tx, ty) owns tokens
// 4tx..4tx+3 and query slots 4ty..4ty+3. D is walked kScoreDims at a time through shared memory, V and U
// stored dimension-major so a thread's four tokens (queries) are one float4; the next chunk's global loads
// are issued into registers before the current chunk is multiplied, so their latency hides behind the FMAs.
constexpr int kScoreTokens = 64, kScoreDims = 32;

template <typename VT, int QT>
__global__ void __launch_bounds__(16 * QT / 4) scores_kernel(const VT* __restrict__ V, const float* __restrict__ U,
                                                            int64_t u_batch_stride, float* __restrict__ S, int T, int D,
                                                            int AQ, float scale, int dims_per_split) {
  constexpr int kThreads = 16 * QT / 4;
  constexpr int kVLoads = kScoreTokens * kScoreDims / kThreads, kULoads = QT * kScoreDims / kThreads;
  __shared__ __align__(16) float vs[kScoreDims][kScoreTokens + 4];
  __shared__ __align__(16) float us[kScoreDims][QT + 4];
  const int b = blockIdx.y, t0 = blockIdx.x * kScoreTokens;
  const int d_begin = blockIdx.z * dims_per_split, d_end = min(D, d_begin + dims_per_split);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const VT* Vb = V + static_cast<int64_t>(b) * T * D;
  const float* Ub = U + b * u_batch_stride;
  float* Sz = S + static_cast<int64_t>(blockIdx.z) * gridDim.y * AQ * T;
  float vr[kVLoads], ur[kULoads];
  auto load = [&](int d0) {
#pragma unroll
    for (int k = 0; k < kVLoads; ++k) {
      const int i = threadIdx.x + k * kThreads, t = i / kScoreDims, d = d0 + i % kScoreDims;  // coalesced along d
      vr[k] = (t0 + t < T && d < d_end) ? to_float(Vb[static_cast<int64_t>(t0 + t) * D + d]) : 0.f;
    }
#pragma unroll
    for (int k = 0; k < kULoads; ++k) {
      const int i = threadIdx.x + k * kThreads, q = i / kScoreDims, d = d0 + i % kScoreDims;
      ur[k] = (q < AQ && d < d_end) ? Ub[static_cast<int64_t>(q) * D + d] : 0.f;
    }
  };
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;
  load(d_begin);
  for (int d0 = d_begin; d0 < d_end; d0 += kScoreDims) {
#pragma unroll
    for (int k = 0; k < kVLoads; ++k) {
      const int i = threadIdx.x + k * kThreads;
      vs[i % kScoreDims][i / kScoreDims] = vr[k];
    }
#pragma unroll
    for (int k = 0; k < kULoads; ++k) {
      const int i = threadIdx.x + k * kThreads;
      us[i % kScoreDims][i / kScoreDims] = ur[k];
    }
    __syncthreads();
    if (d0 + kScoreDims < d_end) load(d0 + kScoreDims);
#pragma unroll 8
    for (int d = 0; d < kScoreDims; ++d) {
      const float4 v = *reinterpret_cast<const float4*>(&vs[d][4 * tx]);
      const float4 u = *reinterpret_cast<const float4*>(&us[d][4 * ty]);
      const float vv[4] = {v.x, v.y, v.z, v.w}, uu[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(vv[i], uu[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int q = 4 * ty + j;
    if (q >= AQ) continue;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = t0 + 4 * tx + i;
      if (t < T) Sz[(static_cast<int64_t>(b) * AQ + q) * T + t] = acc[i][j] * scale;
    }
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

// Adds the split planes of row blockIdx.x into plane 0 (each thread its own elements: no synchronisation needed).
__device__ void sum_split_planes(float* row, int T, int splits, int64_t plane) {
  if (splits == 1) return;
  for (int t = threadIdx.x; t < T; t += blockDim.x) {
    float sum = row[t];
    for (int z = 1; z < splits; ++z) sum += row[z * plane + t];
    row[t] = sum;
  }
}

__global__ void softmax_rows_kernel(float* S, int T, int splits) {
  float* row = S + static_cast<int64_t>(blockIdx.x) * T;
  sum_split_planes(row, T, splits, static_cast<int64_t>(gridDim.x) * T);
  float m = -INFINITY;
  for (int t = threadIdx.x; t < T; t += blockDim.x) m = fmaxf(m, row[t]);
  m = block_reduce(m, true);
  float z = 0.f;
  for (int t = threadIdx.x; t < T; t += blockDim.x) z += __expf(row[t] - m);
  z = block_reduce(z, false);
  for (int t = threadIdx.x; t < T; t += blockDim.x) row[t] = __expf(row[t] - m) / z;
}

__global__ void softmax_backward_kernel(const float* P, float* G, int T, int splits, float scale) {
  const float* p = P + static_cast<int64_t>(blockIdx.x) * T;
  float* g = G + static_cast<int64_t>(blockIdx.x) * T;
  sum_split_planes(g, T, splits, static_cast<int64_t>(gridDim.x) * T);
  float dot = 0.f;
  for (int t = threadIdx.x; t < T; t += blockDim.x) dot += p[t] * g[t];
  dot = block_reduce(dot, false);
  for (int t = threadIdx.x; t < T; t += blockDim.x) g[t] = scale * p[t] * (g[t] - dot);
}

// Context: one block = kContextDims consecutive dims of one image × one slice of the tokens (blockIdx.z; the
// slices' partial sums go to their own planes of C, added by the caller), one dim per thread with all A·Q sums
// in registers. Threads read V rows coalesced; P is staged kContextTokens tokens at a time and read as float4.
// MQ, the compile-time bound on A·Q (16, 32 or 64), keeps the unrolled query loop from issuing dead slots.
constexpr int kContextDims = 128, kContextTokens = 32;

template <typename VT, int MQ>
__global__ void __launch_bounds__(kContextDims) context_kernel(const VT* __restrict__ V, const float* __restrict__ P,
                                                               float* __restrict__ C, int T, int D, int AQ,
                                                               int tokens_per_split) {
  __shared__ __align__(16) float ps[MQ][kContextTokens];
  const int d = blockIdx.x * kContextDims + threadIdx.x, b = blockIdx.y;
  const int t_begin = blockIdx.z * tokens_per_split, t_end = min(T, t_begin + tokens_per_split);
  const VT* Vb = V + static_cast<int64_t>(b) * T * D;
  const float* Pb = P + static_cast<int64_t>(b) * AQ * T;
  float acc[MQ];
#pragma unroll
  for (int q = 0; q < MQ; ++q) acc[q] = 0.f;
  for (int t0 = t_begin; t0 < t_end; t0 += kContextTokens) {
    for (int i = threadIdx.x; i < AQ * kContextTokens; i += kContextDims) {
      const int q = i / kContextTokens, t = i % kContextTokens;
      ps[q][t] = t0 + t < t_end ? Pb[static_cast<int64_t>(q) * T + t0 + t] : 0.f;
    }
    __syncthreads();
    if (d < D) {
      const int tn = min(kContextTokens, t_end - t0);
      for (int t = 0; t < tn; t += 4) {
        float v[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = t + k < tn ? to_float(Vb[static_cast<int64_t>(t0 + t + k) * D + d]) : 0.f;
#pragma unroll
        for (int q = 0; q < MQ; ++q)
          if (q < AQ) {
            const float4 p = *reinterpret_cast<const float4*>(&ps[q][t]);  // same address in the warp: broadcast
            acc[q] = fmaf(p.x, v[0], fmaf(p.y, v[1], fmaf(p.z, v[2], fmaf(p.w, v[3], acc[q]))));
          }
      }
    }
    __syncthreads();
  }
  if (d >= D) return;
  float* Cb = C + (static_cast<int64_t>(blockIdx.z) * gridDim.y + b) * AQ * D;
#pragma unroll
  for (int q = 0; q < MQ; ++q)
    if (q < AQ) Cb[static_cast<int64_t>(q) * D + d] = acc[q];
}

thread_local cudaError_t last_error = cudaSuccess;
void note_launch() { last_error = cudaGetLastError(); }

template <typename VT>
void launch_scores_typed(const VT* V, const float* U, int64_t u_batch_stride, float* S, int B, int T, int D, int AQ,
                         float scale, cudaStream_t s) {
  const Split split = score_split(B, T, D);
  dim3 grid((T + kScoreTokens - 1) / kScoreTokens, B, split.splits);
  if (AQ <= 32)
    scores_kernel<VT, 32><<<grid, 16 * 32 / 4, 0, s>>>(V, U, u_batch_stride, S, T, D, AQ, scale, split.per_split);
  else
    scores_kernel<VT, 64><<<grid, 16 * 64 / 4, 0, s>>>(V, U, u_batch_stride, S, T, D, AQ, scale, split.per_split);
}

template <typename VT>
void launch_context_typed(const VT* V, const float* P, float* C, int B, int T, int D, int AQ, cudaStream_t s) {
  const Split split = context_split(B, T, D);
  dim3 grid((D + kContextDims - 1) / kContextDims, B, split.splits);
  if (AQ <= 16)
    context_kernel<VT, 16><<<grid, kContextDims, 0, s>>>(V, P, C, T, D, AQ, split.per_split);
  else if (AQ <= 32)
    context_kernel<VT, 32><<<grid, kContextDims, 0, s>>>(V, P, C, T, D, AQ, split.per_split);
  else
    context_kernel<VT, 64><<<grid, kContextDims, 0, s>>>(V, P, C, T, D, AQ, split.per_split);
}

int multiprocessors() {
  static const int sms = [] {
    int device = 0, count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 1;
  }();
  return sms;
}

// Splits a length into slices of whole chunks so that `blocks` blocks per slice make at least
// kBlocksPerSM per multiprocessor: several waves, so the last, partial wave costs little.
constexpr int kBlocksPerSM = 8;
Split split_length(int blocks, int length, int chunk) {
  const int chunks = (length + chunk - 1) / chunk;
  const int wanted = std::min(chunks, std::max(1, (kBlocksPerSM * multiprocessors() + blocks - 1) / blocks));
  const int per_split = ((chunks + wanted - 1) / wanted) * chunk;
  return {(length + per_split - 1) / per_split, per_split};
}

}  // namespace

Split score_split(int B, int T, int D) {
  return split_length(((T + kScoreTokens - 1) / kScoreTokens) * B, D, kScoreDims);
}

Split context_split(int B, int T, int D) {
  return split_length(((D + kContextDims - 1) / kContextDims) * B, T, kContextTokens);
}

void launch_scores(const void* V, VisualType type, const float* U, int64_t u_batch_stride, float* S, int B, int T,
                   int D, int AQ, float scale, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  if (type == VisualType::bf16)
    launch_scores_typed(static_cast<const __nv_bfloat16*>(V), U, u_batch_stride, S, B, T, D, AQ, scale, s);
  else
    launch_scores_typed(static_cast<const float*>(V), U, u_batch_stride, S, B, T, D, AQ, scale, s);
  note_launch();
}

void launch_softmax_rows(float* S, int rows, int T, int splits, void* stream) {
  softmax_rows_kernel<<<rows, 256, 0, static_cast<cudaStream_t>(stream)>>>(S, T, splits);
  note_launch();
}

void launch_softmax_backward(const float* P, float* G, int rows, int T, int splits, float scale, void* stream) {
  softmax_backward_kernel<<<rows, 256, 0, static_cast<cudaStream_t>(stream)>>>(P, G, T, splits, scale);
  note_launch();
}

void launch_context(const void* V, VisualType type, const float* P, float* C, int B, int T, int D, int AQ, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  if (type == VisualType::bf16)
    launch_context_typed(static_cast<const __nv_bfloat16*>(V), P, C, B, T, D, AQ, s);
  else
    launch_context_typed(static_cast<const float*>(V), P, C, B, T, D, AQ, s);
  note_launch();
}

const char* last_launch_error() { return last_error == cudaSuccess ? nullptr : cudaGetErrorString(last_error); }

}  // namespace emotune::cuda
