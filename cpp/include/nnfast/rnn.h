// Recurrent layers over whole sequences: LSTM, GRU (reset_after true/false) and SimpleRNN,
// forward and backward through time, with Keras's weight layouts and gate orders.
//
// Structure (DESIGN.md "Recurrent layers"): one GEMM projects the inputs of every time step
// (x @ kernel + input bias), then each step runs one recurrent GEMM (h_prev @ recurrent_kernel,
// a small register-blocked kernel on the weights as stored) and one fused gate kernel. The
// batch is split across threads once: every thread runs all time steps of its own rows, so
// steps need no barrier. Backward runs the steps in reverse with the same split, then three
// large GEMMs give d(inputs), d(kernel) and d(recurrent_kernel).
//
// Layouts (all row-major float32):
//   x        (batch, steps, input)
//   kernel   (input, G*units)            G = 4 (LSTM: i, f, c, o), 3 (GRU: z, r, h), 1 (SimpleRNN)
//   recurrent_kernel (units, G*units)
//   bias     LSTM (4u), SimpleRNN (u), GRU reset_after=false (3u),
//            GRU reset_after=true (2, 3u): row 0 input bias, row 1 recurrent bias; or nullptr
//   mask     (batch, steps) uint8, 1 = real step, 0 = padded; or nullptr. A padded step keeps
//            the previous state and emits the previous output (Keras), or zeros with
//            zero_output_for_mask.
//   h_seq    (batch, steps, units): outputs in processing order (reversed time with
//            go_backwards, as Keras returns them).
//
// Embedding input: with RnnForwardArgs::ids set, x is an embedding table (vocab, input) and
// step t of sample b reads its row ids[b, t]. The driver then projects each distinct row
// looked up once (G*U columns, bias added) and the steps gather their rows of that
// projection: the same sums as projecting the gathered rows, so the results match
// Embedding -> RNN up to float32 rounding, for at most min(vocab, batch*steps) rows of
// GEMM instead of batch*steps, and no (batch, steps, input) embeddings written. Backward
// (RnnBackwardArgs::ids) likewise sums the gate gradients of each distinct row first, so
// d(kernel) and the rows' gradients take one GEMM row per distinct id.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"
#include "nnfast/gemm.h"

namespace nnfast {

enum class RnnCell : int { lstm = 0, gru = 1, simple = 2 };

struct RnnConfig {
  RnnCell cell = RnnCell::lstm;
  int64_t batch = 0, steps = 0, input = 0, units = 0;
  // Supported: tanh, sigmoid, hard_sigmoid, relu, linear (gradients follow from outputs).
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;
  bool go_backwards = false;
  bool reset_after = true;  // GRU only
  bool zero_output_for_mask = false;
  // mixed_bfloat16: every matrix product -- the input projection, each step's recurrent
  // product, backward's products -- takes bf16-rounded operands and sums in fp32
  // (gemm_bf16's contract); the recurrent kernel is packed to bf16 once per call. Gates,
  // states, outputs and gradients stay fp32. bf16_variant picks the implementation as
  // gemm_bf16's does (best: AMX, AVX512_BF16, else rounded copies through the fp32 kernels).
  bool bfloat16 = false;
  Bf16GemmVariant bf16_variant = Bf16GemmVariant::best;
};

// Number of gates G for the cell.
int64_t rnn_gates(const RnnConfig& cfg);
// Floats of workspace that rnn_forward needs (inference) and that rnn_forward + rnn_backward
// share when training: pass the same buffer to both.
int64_t rnn_workspace_size(const RnnConfig& cfg, bool training);
// Floats of workspace rnn_forward (and, training, rnn_backward) need with an embedding
// input of `vocab` rows.
int64_t rnn_embedded_workspace_size(const RnnConfig& cfg, int64_t vocab, bool training);
// True when the activation has a fused gate implementation.
bool rnn_activation_supported(Activation act);

struct RnnForwardArgs {
  const float* x = nullptr;
  const float* kernel = nullptr;
  const float* recurrent_kernel = nullptr;
  const float* bias = nullptr;            // may be nullptr
  const float* h0 = nullptr;              // (batch, units) or nullptr for zeros
  const float* c0 = nullptr;              // LSTM only; (batch, units) or nullptr
  const uint8_t* mask = nullptr;          // (batch, steps) or nullptr
  const float* recurrent_mask = nullptr;  // (batch, units) recurrent dropout (scaled), or nullptr
  float* h_seq = nullptr;                 // (batch, steps, units); required when training
  float* h_last = nullptr;                // (batch, units), required
  float* c_last = nullptr;                // (batch, units), required for LSTM
  float* workspace = nullptr;             // rnn_workspace_size(cfg, training) floats
  bool training = false;                  // keep what rnn_backward needs in the workspace
  // Embedding input (see the top): x is then (vocab, input) and ids (batch, steps) holds
  // row numbers in [0, vocab), checked; the workspace is rnn_embedded_workspace_size's.
  const int64_t* ids = nullptr;
  int64_t vocab = 0;
};

struct RnnBackwardArgs {
  // Everything rnn_forward saw (same pointers, training = true) ...
  const float* x = nullptr;
  const float* kernel = nullptr;
  const float* recurrent_kernel = nullptr;
  const float* h0 = nullptr;
  const float* c0 = nullptr;
  const uint8_t* mask = nullptr;
  const float* recurrent_mask = nullptr;
  const float* h_seq = nullptr;
  float* workspace = nullptr;
  // ... gradients of the outputs (each may be nullptr for zero) ...
  const float* dh_seq = nullptr;   // (batch, steps, units)
  const float* dh_last = nullptr;  // (batch, units)
  const float* dc_last = nullptr;  // (batch, units)
  // ... and the gradients to write (each may be nullptr when not wanted; weights are
  // overwritten, not accumulated).
  float* dx = nullptr;
  float* dkernel = nullptr;
  float* drecurrent_kernel = nullptr;
  float* dbias = nullptr;
  float* dh0 = nullptr;
  float* dc0 = nullptr;
  // Embedding input (the forward's ids and vocab; dx must then be nullptr). Backward writes
  // the distinct ids in order of first appearance to distinct_ids (min(vocab, batch*steps)
  // entries of room), the gradient of each of those table rows to d_rows (as many rows of
  // `input` floats) and their count to *n_distinct.
  const int64_t* ids = nullptr;
  int64_t vocab = 0;
  int64_t* distinct_ids = nullptr;
  float* d_rows = nullptr;
  int64_t* n_distinct = nullptr;
  // Optional, with ids: also the per-token sum of squares of each distinct row's gradient
  // (as many rows as d_rows). The rows' gradients are then summed from the per-token rows
  // (each step's d(input) row), in step order, as the unfused embedding backward does.
  float* d_rows_sq = nullptr;
};

// Throws std::invalid_argument for bad sizes, unsupported activations or missing buffers.
void rnn_forward(const RnnConfig& cfg, const RnnForwardArgs& args);
void rnn_backward(const RnnConfig& cfg, const RnnBackwardArgs& args);

// The variant the drivers would use now, e.g. "f32_rnn_avx512".
const char* rnn_kernel_name();

}  // namespace nnfast
