// CUDA kernels of the optional CUDA build, behind the same entry points (names, argument order,
// semantics) as the CPU ones in nnfast/<family>.h, in namespace nnfast::cuda. Every pointer is
// a device pointer (see nnfast/cuda/runtime.h); float32 row-major like the CPU side.
//
// Kernels are queued on the default stream and return without waiting, except where an index
// check must read ids back first (cross-entropy labels, embedding ids): those wait so that a bad
// index throws std::invalid_argument before anything is written, as on the CPU. A failed launch
// throws std::runtime_error; a fault inside a kernel surfaces at the next blocking call (a copy
// or synchronize()). NNFAST_CUDA_SYNC=1 in the environment synchronizes after every launch so
// the failing kernel is the one named.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/gemm.h"
#include "nnfast/optimizer.h"
#include "nnfast/pool.h"

namespace nnfast::cuda {

// ---- GEMM (nnfast/gemm.h): C = act(alpha * op(A) op(B) + beta * C + bias) -----------------
enum class GemmBackend : int { nnfast = 0, cublas = 1 };
// True when the build found cuBLAS (NNFAST_CUBLAS=ON).
bool cublas_available();
// Throws std::invalid_argument when cublas is asked for but not compiled in.
void set_gemm_backend(GemmBackend backend);
GemmBackend gemm_backend();

// Same contract as nnfast::sgemm, epilogue included (scale, bias, residual, activation;
// beta == 0: C not read; alpha == 0: A and B not read). nnfast backend: one shared-memory
// tiled kernel (128x128 tiles, 8x8 per thread) with the epilogue fused; cublas backend:
// cublasSgemm (FP32, no TF32) then one epilogue pass.
void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{});

// ---- activations (nnfast/activation.h) ------------------------------------------------------
void activation_forward(Activation act, const ActivationParams& p, const float* src, float* dst,
                        int64_t n);
void activation_backward(Activation act, const ActivationParams& p, const float* src,
                         const float* dst, const float* ddst, float* dsrc, int64_t n);
// x[r, :] = act(x[r, :] + bias) for a (rows, cols) buffer; bias may be nullptr.
void bias_activation_inplace(float* x, int64_t rows, int64_t cols, const float* bias,
                             Activation act, const ActivationParams& p);

// ---- softmax, cross-entropy, reductions (nnfast/softmax.h, loss.h, reduce.h) ---------------
void softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols);
void softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                      int64_t cols);
void log_softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols);
void log_softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                          int64_t cols);
void softmax_cross_entropy_forward(const float* logits, const float* target,
                                   const int64_t* labels, int64_t rows, int64_t cols,
                                   float* probs, float* loss);
void softmax_cross_entropy_backward(const float* probs, const float* target,
                                    const int64_t* labels, const float* drow, int64_t rows,
                                    int64_t cols, float* dlogits);
// Deterministic (fixed summation order), unlike the atomics of the scatter kernels.
void sum_over_rows(const float* src, int64_t rows, int64_t cols, float* dst, bool accumulate);
void sum_over_cols(const float* src, int64_t rows, int64_t cols, float* dst);

// ---- fused optimizer updates (nnfast/optimizer.h; same per-step scalars, same rules) --------
void sgd_update(float* w, const float* g, float* momentum_buf, int64_t n, float lr,
                float momentum, bool nesterov, const OptimizerCommon& common = {});
void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step,
                 const OptimizerCommon& common = {});
void rmsprop_update(float* w, const float* g, float* velocity, float* momentum_buf,
                    float* average_grad, int64_t n, float lr, float rho, float momentum,
                    float epsilon, const OptimizerCommon& common = {});
void adagrad_update(float* w, const float* g, float* accumulator, int64_t n, float lr,
                    float epsilon, const OptimizerCommon& common = {});
void lion_update(float* w, const float* g, float* m, int64_t n, float lr, float beta_1,
                 float beta_2, const OptimizerCommon& common = {});

// ---- embedding (nnfast/embedding.h) ---------------------------------------------------------
void embedding_forward(const float* table, int64_t vocab, int64_t dim, const int64_t* ids,
                       int64_t n, float* dst);
// NOTE: rows named several times are summed with atomicAdd, so the order of the additions (and
// the last bits) may differ from run to run, unlike the CPU kernel.
void embedding_backward(const float* ddst, const int64_t* ids, int64_t n, int64_t dim,
                        float* dtable, int64_t vocab, const int64_t* clear_ids = nullptr,
                        int64_t n_clear = 0);

// ---- convolution and pooling (nnfast/conv.h, nnfast/pool.h), NHWC -------------------------
// Implicit GEMM on the tiled GEMM kernel: M = batch*out_h*out_w, N = out_c/groups,
// K = kernel_h*kernel_w*in_c/groups, one grid slice per group; as nnfast::conv2d_forward,
// dst = act(scale * conv + bias + residual) with scale / residual optional, all fused.
void conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst, const float* scale = nullptr, const float* residual = nullptr);
void max_pool2d_forward(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax);
// dsrc is overwritten (zeroed, then each gradient added at its argmax with atomicAdd).
void max_pool2d_backward(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         float* dsrc);
void avg_pool2d_forward(const Pool2DShape& s, const float* src, float* dst);
// dsrc is overwritten; each input element gathers from the windows that contain it.
void avg_pool2d_backward(const Pool2DShape& s, const float* ddst, float* dsrc);

}  // namespace nnfast::cuda
