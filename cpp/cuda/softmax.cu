// Row-wise softmax / log-softmax, the fused softmax cross-entropy, and the row / column sums.
// Row kernels use one block per row (block reductions for the max and the sums).
#include "common.cuh"
#include "nnfast/cuda/kernels.h"
#include "nnfast/cuda/runtime.h"

namespace nnfast::cuda {
namespace {

using detail::block_max;
using detail::block_sum;

// Enough threads for the row, in whole warps.
int row_threads(int64_t cols) {
  if (cols <= 32) return 32;
  if (cols <= 128) return 128;
  return 256;
}

__global__ void softmax_rows_kernel(const float* src, float* dst, int64_t cols, bool log) {
  __shared__ float scratch[32];
  const float* x = src + static_cast<int64_t>(blockIdx.x) * cols;
  float* y = dst + static_cast<int64_t>(blockIdx.x) * cols;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = x[j] > mx ? x[j] : mx;
  mx = block_max(mx, scratch);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(x[j] - mx);
  sum = block_sum(sum, scratch);
  if (log) {
    const float lse = mx + logf(sum);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[j] = x[j] - lse;
  } else {
    const float inv = 1.0f / sum;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[j] = expf(x[j] - mx) * inv;
  }
}

__global__ void softmax_backward_rows_kernel(const float* dst, const float* ddst, float* dsrc,
                                             int64_t cols, bool log) {
  __shared__ float scratch[32];
  const int64_t off = static_cast<int64_t>(blockIdx.x) * cols;
  const float* y = dst + off;
  const float* dy = ddst + off;
  float* dx = dsrc + off;
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += log ? dy[j] : dy[j] * y[j];
  s = block_sum(s, scratch);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    dx[j] = log ? dy[j] - expf(y[j]) * s : y[j] * (dy[j] - s);
}

__global__ void softmax_xent_forward_kernel(const float* logits, const float* target,
                                            const int64_t* labels, int64_t cols, float* probs,
                                            float* loss) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* z = logits + row * cols;
  float* p = probs + row * cols;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = z[j] > mx ? z[j] : mx;
  mx = block_max(mx, scratch);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(z[j] - mx);
  sum = block_sum(sum, scratch);
  const float lse = mx + logf(sum);
  const float inv = 1.0f / sum;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) p[j] = expf(z[j] - mx) * inv;
  if (labels != nullptr) {
    if (threadIdx.x == 0) loss[row] = lse - z[labels[row]];
  } else {
    const float* y = target + row * cols;
    float l = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) l += y[j] * (lse - z[j]);
    l = block_sum(l, scratch);
    if (threadIdx.x == 0) loss[row] = l;
  }
}

__global__ void softmax_xent_backward_kernel(const float* probs, const float* target,
                                             const int64_t* labels, const float* drow,
                                             int64_t cols, float* dlogits) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* p = probs + row * cols;
  float* d = dlogits + row * cols;
  const float g = drow[row];
  if (labels != nullptr) {
    const int64_t label = labels[row];
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      d[j] = j == label ? g * p[j] - g : g * p[j];
  } else {
    // Soft targets need not sum to one: d/dz of sum(y*(lse - z)) is p*sum(y) - y.
    const float* y = target + row * cols;
    float ysum = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) ysum += y[j];
    ysum = block_sum(ysum, scratch);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) d[j] = g * (p[j] * ysum - y[j]);
  }
}

constexpr int kSumLanes = 16;  // rows summed in parallel per column by sum_over_rows

// Block (32 columns) x (kSumLanes row lanes); lanes are combined in a fixed order.
__global__ void sum_over_rows_kernel(const float* src, int64_t rows, int64_t cols, float* dst,
                                     bool accumulate) {
  __shared__ float part[kSumLanes][33];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  float s = 0.0f;
  if (j < cols)
    for (int64_t i = threadIdx.y; i < rows; i += kSumLanes) s += src[i * cols + j];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    float t = 0.0f;
    for (int lane = 0; lane < kSumLanes; ++lane) t += part[lane][threadIdx.x];
    dst[j] = accumulate ? dst[j] + t : t;
  }
}

// One warp per row.
__global__ void sum_over_cols_kernel(const float* src, int64_t rows, int64_t cols, float* dst) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const float* x = src + row * cols;
  float s = 0.0f;
  for (int64_t j = lane; j < cols; j += 32) s += x[j];
  s = detail::warp_sum(s);
  if (lane == 0) dst[row] = s;
}

void check_shape(int64_t rows, int64_t cols, const char* who) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument(std::string(who) + ": negative shape (" + std::to_string(rows) +
                                ", " + std::to_string(cols) + ")");
  detail::check_rows(rows, who);
}

void check_targets(const float* target, const int64_t* labels, int64_t rows, int64_t cols) {
  if ((target == nullptr) == (labels == nullptr))
    throw std::invalid_argument("loss: give exactly one of dense targets or integer labels");
  if (labels == nullptr) return;
  const detail::BadIndex bad = detail::first_bad_index(labels, rows, cols);
  if (bad.position >= 0)
    throw std::invalid_argument("label " + std::to_string(bad.value) + " at row " +
                                std::to_string(bad.position) + " is outside [0, " +
                                std::to_string(cols) + ") for predictions of shape (" +
                                std::to_string(rows) + ", " + std::to_string(cols) + ")");
}

void softmax_rows(const float* src, float* dst, int64_t rows, int64_t cols, bool log) {
  check_shape(rows, cols, log ? "log_softmax_forward" : "softmax_forward");
  if (rows == 0 || cols == 0) return;
  softmax_rows_kernel<<<static_cast<unsigned>(rows), row_threads(cols)>>>(src, dst, cols, log);
  NNFAST_CUDA_CHECK_LAUNCH("softmax_rows_kernel");
}

void softmax_backward_rows(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                           int64_t cols, bool log) {
  check_shape(rows, cols, log ? "log_softmax_backward" : "softmax_backward");
  if (rows == 0 || cols == 0) return;
  softmax_backward_rows_kernel<<<static_cast<unsigned>(rows), row_threads(cols)>>>(
      dst, ddst, dsrc, cols, log);
  NNFAST_CUDA_CHECK_LAUNCH("softmax_backward_rows_kernel");
}

}  // namespace

void softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols) {
  softmax_rows(src, dst, rows, cols, false);
}
void log_softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols) {
  softmax_rows(src, dst, rows, cols, true);
}
void softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                      int64_t cols) {
  softmax_backward_rows(dst, ddst, dsrc, rows, cols, false);
}
void log_softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                          int64_t cols) {
  softmax_backward_rows(dst, ddst, dsrc, rows, cols, true);
}

void softmax_cross_entropy_forward(const float* logits, const float* target,
                                   const int64_t* labels, int64_t rows, int64_t cols,
                                   float* probs, float* loss) {
  check_shape(rows, cols, "softmax_cross_entropy_forward");
  check_targets(target, labels, rows, cols);
  if (rows == 0) return;
  if (cols == 0) {  // no classes: every row's loss is an empty sum, as on the CPU
    fill_zero(loss, static_cast<size_t>(rows) * sizeof(float));
    return;
  }
  softmax_xent_forward_kernel<<<static_cast<unsigned>(rows), row_threads(cols)>>>(
      logits, target, labels, cols, probs, loss);
  NNFAST_CUDA_CHECK_LAUNCH("softmax_xent_forward_kernel");
}

void softmax_cross_entropy_backward(const float* probs, const float* target,
                                    const int64_t* labels, const float* drow, int64_t rows,
                                    int64_t cols, float* dlogits) {
  check_shape(rows, cols, "softmax_cross_entropy_backward");
  check_targets(target, labels, rows, cols);
  if (rows == 0 || cols == 0) return;
  softmax_xent_backward_kernel<<<static_cast<unsigned>(rows), row_threads(cols)>>>(
      probs, target, labels, drow, cols, dlogits);
  NNFAST_CUDA_CHECK_LAUNCH("softmax_xent_backward_kernel");
}

void sum_over_rows(const float* src, int64_t rows, int64_t cols, float* dst, bool accumulate) {
  check_shape(rows, cols, "sum_over_rows");
  if (cols == 0) return;
  const int64_t blocks = (cols + 31) / 32;
  sum_over_rows_kernel<<<static_cast<unsigned>(blocks), dim3(32, kSumLanes)>>>(src, rows, cols,
                                                                             dst, accumulate);
  NNFAST_CUDA_CHECK_LAUNCH("sum_over_rows_kernel");
}

void sum_over_cols(const float* src, int64_t rows, int64_t cols, float* dst) {
  check_shape(rows, cols, "sum_over_cols");
  if (rows == 0) return;
  const int64_t blocks = (rows + 7) / 8;
  sum_over_cols_kernel<<<static_cast<unsigned>(blocks), 256>>>(src, rows, cols, dst);
  NNFAST_CUDA_CHECK_LAUNCH("sum_over_cols_kernel");
}

}  // namespace nnfast::cuda
