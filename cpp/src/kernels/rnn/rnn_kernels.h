// Per-ISA recurrent kernels. Each works on a block of `rows` batch rows for ONE time step;
// the driver (src/ops/rnn.cpp) walks the steps and splits the batch across threads.
// Row r of a strided operand X lives at X + r * ldX. A mask row is mask[r * ld_mask]
// (nonzero = real step); a masked row keeps its state (h, c) and passes gradients through.
// `act` / `rec_act` are nnfast::Activation ids among tanh, sigmoid, hard_sigmoid, relu, linear.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

struct RnnKernelSet {
  const char* name;

  // c[rows, n] = (accumulate ? c : 0) + a[rows, k] @ b[k, n]  (b row-major, as stored).
  void (*gemm)(int64_t rows, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);

  // LSTM step. gates (rows, 4u): pre-activations in, activations (i, f, g, o) out.
  // c, h (rows, u) contiguous running state, updated in place. h_out / c_save may be null.
  void (*lstm_forward)(int64_t rows, int64_t units, int act, int rec_act, float* gates,
                       int64_t ldg, float* c, float* h, float* h_out, int64_t ldh_out,
                       float* c_save, int64_t ldc_save, const uint8_t* mask, int64_t ld_mask);
  // LSTM step backward. dh, dc (rows, u) contiguous: in dL/dh_t (before adding dh_out) and
  // dL/dc_t; out: dc = dL/dc_{t-1}, dh = 0 for real rows (the recurrent GEMM adds the rest)
  // and unchanged for masked rows. dgates (rows, 4u) receives d(pre-activations), 0 if masked.
  // c_prev may be null (zero initial state); dh_out may be null.
  void (*lstm_backward)(int64_t rows, int64_t units, int act, int rec_act, const float* gates,
                        int64_t ldg, const float* c_t, int64_t ldc_t, const float* c_prev,
                        int64_t ldc_prev, const float* dh_out, int64_t ldh_out, float* dh,
                        float* dc, float* dgates, int64_t lddg, const uint8_t* mask,
                        int64_t ld_mask);

  // GRU step, reset_after = true. gates (rows, 3u): x-part pre-activations (input bias
  // included) in, activations (z, r, hh) out. rec (rows, 3u) = h_prev @ U; rec_bias (3u) or
  // null. hrh_save (rows, u) keeps U_h-part + bias for backward (may be null).
  void (*gru_forward)(int64_t rows, int64_t units, int act, int rec_act, float* gates,
                      int64_t ldg, const float* rec, int64_t ldr, const float* rec_bias,
                      float* h, float* h_out, int64_t ldh_out, float* hrh_save, int64_t ldhrh,
                      const uint8_t* mask, int64_t ld_mask);
  // GRU step backward, reset_after = true. dh (rows, u) in: dL/dh_t before dh_out; out: the
  // direct part dh*z (unchanged if masked). dgx = d(x-part pre-acts), dgh = d(h @ U + b_rec).
  void (*gru_backward)(int64_t rows, int64_t units, int act, int rec_act, const float* gates,
                       int64_t ldg, const float* hrh, int64_t ldhrh, const float* h_prev,
                       int64_t ldh_prev, const float* dh_out, int64_t ldh_out, float* dh,
                       float* dgx, float* dgh, int64_t lddg, const uint8_t* mask,
                       int64_t ld_mask);

  // GRU reset_after = false, phase a: gates[:, :2u] hold z, r pre-activations (h @ U_zr
  // already added); writes their activations and rh = r * hm (hm = the recurrent GEMM input).
  void (*gru_forward_a)(int64_t rows, int64_t units, int rec_act, float* gates, int64_t ldg,
                        const float* hm, float* rh, int64_t ldrh);
  // Phase b: gates[:, 2u:] hold hh's pre-activation (rh @ U_h added): activates it and
  // updates h = z*h + (1-z)*hh (kept if masked).
  void (*gru_forward_b)(int64_t rows, int64_t units, int act, float* gates, int64_t ldg,
                        float* h, float* h_out, int64_t ldh_out, const uint8_t* mask,
                        int64_t ld_mask);
  // Backward phase a: dh += dh_out; dg[:, 0:u] = dz pre, dg[:, 2u:] = dhh pre; dh = dh*z
  // (unchanged if masked; dg = 0 if masked).
  void (*gru_backward_a)(int64_t rows, int64_t units, int act, int rec_act, const float* gates,
                         int64_t ldg, const float* h_prev, int64_t ldh_prev,
                         const float* dh_out, int64_t ldh_out, float* dh, float* dg,
                         int64_t lddg, const uint8_t* mask, int64_t ld_mask);
  // Backward phase b: drh (rows, u) = dhh_pre @ U_h^T. dg[:, u:2u] = dr pre = drh*hm*r';
  // dhm (rows, u) = drh * r (0 if masked).
  void (*gru_backward_b)(int64_t rows, int64_t units, int rec_act, const float* gates,
                         int64_t ldg, const float* hm, const float* drh, float* dg,
                         int64_t lddg, float* dhm, const uint8_t* mask, int64_t ld_mask);

  // SimpleRNN step: gates (rows, u) pre-activations in, h_t out; h updated (kept if masked).
  void (*simple_forward)(int64_t rows, int64_t units, int act, float* gates, int64_t ldg,
                         float* h, float* h_out, int64_t ldh_out, const uint8_t* mask,
                         int64_t ld_mask);
  // dh += dh_out; dg = dh * act'(h_t) (0 if masked); dh = 0 (unchanged if masked).
  void (*simple_backward)(int64_t rows, int64_t units, int act, const float* gates,
                          int64_t ldg, const float* dh_out, int64_t ldh_out, float* dh,
                          float* dg, int64_t lddg, const uint8_t* mask, int64_t ld_mask);
};

extern const RnnKernelSet rnn_kernels_ref;
extern const RnnKernelSet rnn_kernels_avx2;
extern const RnnKernelSet rnn_kernels_avx512;

}  // namespace nnfast::kernels
