// Recurrent driver: validate, pick the kernel set for the active ISA, run the input
// projection as one GEMM, then walk the time steps with each thread owning a slice of the
// batch (rows never interact across the recurrence, so there is no per-step barrier).
#include "nnfast/rnn.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/embedding/embedding_kernels.h"
#include "ops/embedding_rows.h"
#include "kernels/rnn/rnn_kernels.h"
#include "nnfast/gemm.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "ops/rnn_bf16.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::RnnKernelSet> kRnn{
    "rnn",
    {{Isa::avx512, "f32_rnn_avx512", &kernels::rnn_kernels_avx512},
     {Isa::avx2, "f32_rnn_avx2", &kernels::rnn_kernels_avx2},
     {Isa::ref, "f32_rnn_ref", &kernels::rnn_kernels_ref}}};

const kernels::RnnKernelSet& pick_kernels() { return *kRnn.select().fns; }

struct Layout {
  int64_t B, T, I, U, G, GU;
  int64_t xp, save, dg, dgh, hm, ut, total_fwd, total_train;
};

bool has_save(const RnnConfig& c) { return c.cell != RnnCell::simple; }

Layout layout(const RnnConfig& c) {
  Layout l{};
  l.B = c.batch;
  l.T = c.steps;
  l.I = c.input;
  l.U = c.units;
  l.G = rnn_gates(c);
  l.GU = l.G * l.U;
  const int64_t bt = l.B * l.T;
  l.xp = 0;
  l.total_fwd = bt * l.GU;
  l.save = l.total_fwd;
  l.dg = l.save + (has_save(c) ? bt * l.U : 0);
  l.dgh = l.dg + bt * l.GU;
  l.hm = l.dgh + (c.cell == RnnCell::gru && c.reset_after ? bt * l.GU : 0);
  l.ut = l.hm + bt * l.U;
  l.total_train = l.ut + l.GU * l.U;
  return l;
}

void validate(const RnnConfig& c) {
  if (c.batch < 0 || c.steps < 1 || c.input < 1 || c.units < 1)
    throw std::invalid_argument(
        "rnn: expected batch >= 0, steps >= 1, input >= 1 and units >= 1, received batch=" +
        std::to_string(c.batch) + " steps=" + std::to_string(c.steps) +
        " input=" + std::to_string(c.input) + " units=" + std::to_string(c.units));
  if (!rnn_activation_supported(c.activation) ||
      !rnn_activation_supported(c.recurrent_activation))
    throw std::invalid_argument(
        "rnn: activation and recurrent_activation must be one of tanh, sigmoid, "
        "hard_sigmoid, relu, linear (ids 3, 2, 12, 1, 0), received ids " +
        std::to_string(static_cast<int>(c.activation)) + " and " +
        std::to_string(static_cast<int>(c.recurrent_activation)));
}

void check_ids(const int64_t* ids, int64_t n, int64_t vocab) {
  if (vocab < 1)
    throw std::invalid_argument("rnn: an embedding input needs vocab >= 1, received " +
                                std::to_string(vocab));
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw std::invalid_argument("rnn: embedding index " + std::to_string(ids[i]) +
                                  " at position " + std::to_string(i) +
                                  " is out of range [0, " + std::to_string(vocab) + ")");
}

// Numbers the distinct ids in order of first appearance: row_of[i] = number of ids[i];
// calls copy(number, id) once per distinct id. Returns how many there are.
template <typename Copy>
int64_t distinct_rows(const int64_t* ids, int64_t n, int64_t vocab, std::vector<int32_t>& row_of,
                      Copy&& copy) {
  std::vector<int32_t> number(static_cast<size_t>(vocab), -1);
  row_of.resize(static_cast<size_t>(n));
  int32_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    int32_t& k = number[ids[i]];
    if (k < 0) {
      k = count++;
      copy(k, ids[i]);
    }
    row_of[i] = k;
  }
  return count;
}

// out = op(a) @ op(b) (+ the epilogue): the driver's large products, in bf16 under
// mixed_bfloat16 (cfg.bfloat16).
void product(const RnnConfig& cfg, Trans ta, Trans tb, int64_t m, int64_t n, int64_t k,
             const float* a, int64_t lda, const float* b, int64_t ldb, float* out, int64_t ldo,
             const GemmEpilogue& ep = GemmEpilogue{}) {
  if (cfg.bfloat16)
    gemm_bf16(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, out, ldo, ep, cfg.bf16_variant);
  else
    sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, out, ldo, ep);
}

// Under mixed_bfloat16 each thread brackets its steps with these (AMX tile configuration).
void begin_steps(const std::unique_ptr<Bf16StepProduct>& p) {
  if (p) p->begin_thread();
}
void end_steps(const std::unique_ptr<Bf16StepProduct>& p) {
  if (p) p->end_thread();
}

void require(const void* p, const char* what) {
  if (p == nullptr) throw std::invalid_argument(std::string("rnn: missing buffer ") + what);
}

// Rows per thread below which splitting the batch does not pay.
int64_t batch_grain(const Layout& l) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, l.U * l.GU));
}

// Column sums of a (rows, cols) matrix with row stride ld, split over columns (whole cache
// lines per thread) only when each thread gets at least ~1M additions: a parallel region
// costs more than the sums on a busy machine.
void column_sums(const float* src, int64_t rows, int64_t cols, int64_t ld, float* dst) {
  const int64_t grain = std::max<int64_t>(16, (int64_t(1) << 20) / std::max<int64_t>(rows, 1));
  parallel_for_chunks(cols, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t j = c0; j < c1; ++j) dst[j] = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* s = src + r * ld;
      for (int64_t j = c0; j < c1; ++j) dst[j] += s[j];
    }
  });
}

// For an embedding input: each token's d(input) row dx_i = dG_i @ kernel^T, summed into
// sums[row_of[i]] and squared into squares[row_of[i]] (tokens in step order), a chunk of
// tokens at a time so their rows stay in cache and (batch*steps, input) is never written.
void token_row_gradients(const RnnConfig& cfg, const float* dG, int64_t n_tok, int64_t GU,
                         int64_t I, const float* kernel, const int32_t* row_of, int64_t n_rows,
                         float* sums, float* squares) {
  std::fill(sums, sums + n_rows * I, 0.0f);
  std::fill(squares, squares + n_rows * I, 0.0f);
  const int64_t chunk = std::max<int64_t>(16, (int64_t(1) << 16) / I);  // 256 KB of rows
  std::vector<float> dx(static_cast<size_t>(std::min(chunk, n_tok) * I));
  const auto add_squares = embedding_row_kernels().scatter_add_squares;
  for (int64_t i0 = 0; i0 < n_tok; i0 += chunk) {
    const int64_t m = std::min(chunk, n_tok - i0);
    product(cfg, Trans::N, Trans::T, m, I, GU, dG + i0 * GU, GU, kernel, GU, dx.data(), I);
    // Split over whole cache lines of columns only when each thread gets ~1M additions.
    const int64_t grain = std::max<int64_t>(16, (int64_t(1) << 20) / m);
    parallel_for_chunks(I, grain, [&](int64_t c0, int64_t c1) {
      add_squares(dx.data(), row_of + i0, m, I, c0, c1, sums, squares);
    });
  }
}

// A step's recurrent GEMM reads all of the (units, gates*units) recurrent kernel; row-major,
// each register panel of it is a column slice strided by the whole row. Packed once per call
// into blocks of kBlockCols columns whose rows are contiguous, a panel streams one contiguous
// piece of memory each step (~20% faster at 64 units, AVX-512). Sums are unchanged.
constexpr int64_t kBlockCols = 64;

void pack_column_blocks(const float* b, int64_t k, int64_t n, int64_t ldb, float* dst) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlockCols) {
    const int64_t nb = std::min(kBlockCols, n - j0);
    float* d = dst + j0 * k;
    for (int64_t p = 0; p < k; ++p)
      std::memcpy(d + p * nb, b + p * ldb + j0, sizeof(float) * static_cast<size_t>(nb));
  }
}

// c[rows, n] = (accumulate ? c : 0) + a[rows, k] @ b, b packed by pack_column_blocks.
void gemm_column_blocks(const kernels::RnnKernelSet& K, int64_t rows, int64_t n, int64_t k,
                        const float* a, int64_t lda, const float* packed, float* c, int64_t ldc,
                        bool accumulate) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlockCols) {
    const int64_t nb = std::min(kBlockCols, n - j0);
    K.gemm(rows, nb, k, a, lda, packed + j0 * k, nb, c + j0, ldc, accumulate);
  }
}

}  // namespace

int64_t rnn_gates(const RnnConfig& cfg) {
  switch (cfg.cell) {
    case RnnCell::lstm: return 4;
    case RnnCell::gru: return 3;
    default: return 1;
  }
}

bool rnn_activation_supported(Activation act) {
  return act == Activation::tanh || act == Activation::sigmoid ||
         act == Activation::hard_sigmoid || act == Activation::relu ||
         act == Activation::linear;
}

int64_t rnn_workspace_size(const RnnConfig& cfg, bool training) {
  validate(cfg);
  const Layout l = layout(cfg);
  return training ? l.total_train : l.total_fwd;
}

int64_t rnn_embedded_workspace_size(const RnnConfig& cfg, int64_t vocab, bool training) {
  validate(cfg);
  if (vocab < 1)
    throw std::invalid_argument("rnn: an embedding input needs vocab >= 1, received " +
                                std::to_string(vocab));
  const Layout l = layout(cfg);
  // Training: the usual layout, then the distinct rows looked up (at most min(vocab,
  // batch*steps)) and their projection (backward: their summed gate gradients).
  // Inference: the distinct rows, their projection, then one step's gates for every row.
  const int64_t rows = std::min(vocab, l.B * l.T) * (l.I + l.GU);
  return training ? l.total_train + rows : rows + l.B * l.GU;
}

const char* rnn_kernel_name() { return pick_kernels().name; }

void rnn_forward(const RnnConfig& cfg, const RnnForwardArgs& a) {
  validate(cfg);
  require(a.x, "x");
  require(a.kernel, "kernel");
  require(a.recurrent_kernel, "recurrent_kernel");
  require(a.h_last, "h_last");
  require(a.workspace, "workspace");
  if (cfg.cell == RnnCell::lstm) require(a.c_last, "c_last");
  if (a.training) require(a.h_seq, "h_seq (needed for training)");
  const bool embedded = a.ids != nullptr;
  if (embedded) check_ids(a.ids, cfg.batch * cfg.steps, a.vocab);
  const kernels::RnnKernelSet& K = pick_kernels();
  const Layout l = layout(cfg);
  const int64_t B = l.B, T = l.T, U = l.U, GU = l.GU;
  const bool gru_ra = cfg.cell == RnnCell::gru && cfg.reset_after;
  const int act = static_cast<int>(cfg.activation);
  const int ract = static_cast<int>(cfg.recurrent_activation);
  float* xp = a.workspace + l.xp;
  float* save = a.training && has_save(cfg) ? a.workspace + l.save : nullptr;

  if (B == 0) return;
  GemmEpilogue ep;
  ep.bias = a.bias;
  const float* rec_bias = gru_ra && a.bias ? a.bias + GU : nullptr;
  // Input projection of every step, or with an embedding input of each distinct table row
  // looked up (the steps then gather their rows into `step_gates`, one step at a time).
  std::vector<int32_t> row_of;  // embedded: (batch*steps) -> row of the projection
  float* proj = nullptr;        // embedded: the distinct rows' projections
  float* step_gates = nullptr;
  if (embedded) {
    float* rows_in = a.workspace + (a.training ? l.total_train : 0);  // distinct rows
    const int64_t n_rows =
        distinct_rows(a.ids, B * T, a.vocab, row_of, [&](int64_t r, int64_t id) {
          std::memcpy(rows_in + r * l.I, a.x + id * l.I, sizeof(float) * l.I);
        });
    proj = rows_in + std::min(a.vocab, B * T) * l.I;
    product(cfg, Trans::N, Trans::N, n_rows, GU, l.I, rows_in, l.I, a.kernel, GU, proj, GU, ep);
    // Training keeps every step's gates in xp for backward, as without ids; inference
    // needs one step's only.
    if (!a.training) step_gates = proj + std::min(a.vocab, B * T) * GU;
  } else {
    product(cfg, Trans::N, Trans::N, B * T, GU, l.I, a.x, l.I, a.kernel, GU, xp, GU, ep);
  }

  if (a.h0)
    std::memcpy(a.h_last, a.h0, sizeof(float) * B * U);
  else
    std::fill(a.h_last, a.h_last + B * U, 0.0f);
  if (cfg.cell == RnnCell::lstm) {
    if (a.c0)
      std::memcpy(a.c_last, a.c0, sizeof(float) * B * U);
    else
      std::fill(a.c_last, a.c_last + B * U, 0.0f);
  }
  const float* Ur = a.recurrent_kernel;
  // GRU with reset_after = false multiplies by column slices of it instead (kept as stored).
  std::vector<float> ur_blocks;
  // Under bfloat16 it is packed to bf16 instead (GRU reset_after=false: its z|r and h
  // column slices apart), and each step's product goes through rec_bf16 / rec_bf16_h.
  std::unique_ptr<Bf16StepProduct> rec_bf16, rec_bf16_h;
  if (cfg.bfloat16) {
    const int64_t n = gru_ra || cfg.cell != RnnCell::gru ? GU : 2 * U;
    rec_bf16 = std::make_unique<Bf16StepProduct>(Trans::N, Ur, GU, U, n, cfg.bf16_variant, K);
    if (n != GU)
      rec_bf16_h = std::make_unique<Bf16StepProduct>(Trans::N, Ur + 2 * U, GU, U, U,
                                                     cfg.bf16_variant, K);
  } else if (cfg.cell != RnnCell::gru || gru_ra) {
    ur_blocks.resize(static_cast<size_t>(U * GU));
    pack_column_blocks(Ur, U, GU, GU, ur_blocks.data());
  }
  const float* Ub = ur_blocks.data();

  parallel_for_chunks(B, batch_grain(l), [&](int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    begin_steps(rec_bf16);
    std::vector<float> hm_buf(a.recurrent_mask ? rows * U : 0);
    std::vector<float> rec_buf(gru_ra ? rows * GU : 0);
    std::vector<float> rh_buf(cfg.cell == RnnCell::gru && !gru_ra && !save ? rows * U : 0);
    float* h = a.h_last + b0 * U;
    float* c = cfg.cell == RnnCell::lstm ? a.c_last + b0 * U : nullptr;
    const float* rmask = a.recurrent_mask ? a.recurrent_mask + b0 * U : nullptr;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t tt = cfg.go_backwards ? T - 1 - t : t;
      float* gates = xp + (b0 * T + tt) * GU;
      int64_t ldg = T * GU;
      if (embedded) {
        // This step's rows of the projection, copied where the step works on them.
        if (step_gates) {
          gates = step_gates + b0 * GU;
          ldg = GU;
        }
        const int32_t* row = row_of.data() + b0 * T + tt;
        for (int64_t r = 0; r < rows; ++r)
          std::memcpy(gates + r * ldg, proj + int64_t(row[r * T]) * GU, sizeof(float) * GU);
      }
      const uint8_t* m = a.mask ? a.mask + b0 * T + tt : nullptr;
      float* h_out = a.h_seq ? a.h_seq + (b0 * T + t) * U : nullptr;
      float* sv = save ? save + (b0 * T + tt) * U : nullptr;
      const float* hin = h;
      if (rmask) {
        for (int64_t i = 0; i < rows * U; ++i) hm_buf[i] = h[i] * rmask[i];
        hin = hm_buf.data();
      }
      switch (cfg.cell) {
        case RnnCell::lstm:
          if (rec_bf16)
            rec_bf16->multiply(rows, hin, U, gates, ldg, true);
          else
            gemm_column_blocks(K, rows, GU, U, hin, U, Ub, gates, ldg, true);
          K.lstm_forward(rows, U, act, ract, gates, ldg, c, h, h_out, T * U, sv, T * U, m, T);
          break;
        case RnnCell::gru:
          if (gru_ra) {
            if (rec_bf16)
              rec_bf16->multiply(rows, hin, U, rec_buf.data(), GU, false);
            else
              gemm_column_blocks(K, rows, GU, U, hin, U, Ub, rec_buf.data(), GU, false);
            K.gru_forward(rows, U, act, ract, gates, ldg, rec_buf.data(), GU, rec_bias, h, h_out,
                          T * U, sv, T * U, m, T);
          } else {
            float* rh = sv ? sv : rh_buf.data();
            const int64_t ldrh = sv ? T * U : U;
            if (rec_bf16)
              rec_bf16->multiply(rows, hin, U, gates, ldg, true);
            else
              K.gemm(rows, 2 * U, U, hin, U, Ur, GU, gates, ldg, true);
            K.gru_forward_a(rows, U, ract, gates, ldg, hin, rh, ldrh);
            if (rec_bf16_h)
              rec_bf16_h->multiply(rows, rh, ldrh, gates + 2 * U, ldg, true);
            else
              K.gemm(rows, U, U, rh, ldrh, Ur + 2 * U, GU, gates + 2 * U, ldg, true);
            K.gru_forward_b(rows, U, act, gates, ldg, h, h_out, T * U, m, T);
          }
          break;
        case RnnCell::simple:
          if (rec_bf16)
            rec_bf16->multiply(rows, hin, U, gates, ldg, true);
          else
            gemm_column_blocks(K, rows, GU, U, hin, U, Ub, gates, ldg, true);
          K.simple_forward(rows, U, act, gates, ldg, h, h_out, T * U, m, T);
          break;
      }
    }
    end_steps(rec_bf16);
  });
}

void rnn_backward(const RnnConfig& cfg, const RnnBackwardArgs& a) {
  validate(cfg);
  require(a.x, "x");
  require(a.kernel, "kernel");
  require(a.recurrent_kernel, "recurrent_kernel");
  require(a.h_seq, "h_seq");
  require(a.workspace, "workspace");
  const bool embedded = a.ids != nullptr;
  if (embedded) {
    if (a.dx)
      throw std::invalid_argument("rnn: with an embedding input, d_rows replaces dx");
    require(a.distinct_ids, "distinct_ids");
    require(a.d_rows, "d_rows");
    require(a.n_distinct, "n_distinct");
    check_ids(a.ids, cfg.batch * cfg.steps, a.vocab);
  }
  const kernels::RnnKernelSet& K = pick_kernels();
  const Layout l = layout(cfg);
  const int64_t B = l.B, T = l.T, I = l.I, U = l.U, GU = l.GU;
  const bool gru_ra = cfg.cell == RnnCell::gru && cfg.reset_after;
  const int act = static_cast<int>(cfg.activation);
  const int ract = static_cast<int>(cfg.recurrent_activation);
  float* ws = a.workspace;
  const float* gates_all = ws + l.xp;
  const float* save = has_save(cfg) ? ws + l.save : nullptr;
  float* dG = ws + l.dg;
  float* dGh = gru_ra ? ws + l.dgh : dG;
  float* Hm = ws + l.hm;
  float* Ut = ws + l.ut;

  if (embedded) *a.n_distinct = 0;
  if (B == 0) {
    if (a.dkernel) std::fill(a.dkernel, a.dkernel + I * GU, 0.0f);
    if (a.drecurrent_kernel) std::fill(a.drecurrent_kernel, a.drecurrent_kernel + U * GU, 0.0f);
    if (a.dbias) std::fill(a.dbias, a.dbias + (gru_ra ? 2 : 1) * GU, 0.0f);
    return;
  }
  // The recurrent kernel transposed once per backward pass: the per-step GEMM
  // dh = dgates @ U^T then streams contiguous rows.
  // Under bfloat16 it is packed to bf16 as the transposed operand instead (GRU
  // reset_after=false: its z|r and h column slices apart).
  const float* Ur = a.recurrent_kernel;
  std::unique_ptr<Bf16StepProduct> back_bf16, back_bf16_h;
  if (cfg.bfloat16) {
    const bool split = cfg.cell == RnnCell::gru && !gru_ra;
    back_bf16 = std::make_unique<Bf16StepProduct>(Trans::T, Ur, GU, split ? 2 * U : GU, U,
                                                  cfg.bf16_variant, K);
    if (split)
      back_bf16_h = std::make_unique<Bf16StepProduct>(Trans::T, Ur + 2 * U, GU, U, U,
                                                      cfg.bf16_variant, K);
  } else {
    parallel_for_chunks(GU, 256, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j)
        for (int64_t i = 0; i < U; ++i) Ut[j * U + i] = Ur[i * GU + j];
    });
  }

  parallel_for_chunks(B, batch_grain(l), [&](int64_t b0, int64_t b1) {
    const int64_t rows = b1 - b0;
    begin_steps(back_bf16);
    std::vector<float> dh(rows * U, 0.0f), dc(cfg.cell == RnnCell::lstm ? rows * U : 0, 0.0f);
    std::vector<float> dhm(rows * U), drh(rows * U), hmp(rows * U);
    if (a.dh_last) std::memcpy(dh.data(), a.dh_last + b0 * U, sizeof(float) * rows * U);
    if (a.dc_last && cfg.cell == RnnCell::lstm)
      std::memcpy(dc.data(), a.dc_last + b0 * U, sizeof(float) * rows * U);
    const float* rmask = a.recurrent_mask ? a.recurrent_mask + b0 * U : nullptr;
    // dL/dh_{t-1} += d(h_{t-1} * recurrent mask) * recurrent mask, from dhm.
    auto add_hm_grad = [&] {
      float* d = dh.data();
      const float* e = dhm.data();
      if (rmask) {
        for (int64_t i = 0; i < rows * U; ++i) d[i] += e[i] * rmask[i];
      } else {
        for (int64_t i = 0; i < rows * U; ++i) d[i] += e[i];
      }
    };
    // dL/dh_{t-1} += dg (rows, n) @ Ut[:n] (the gate kernel left dh = its direct part).
    // Without recurrent dropout the GEMM accumulates straight into dh.
    auto rec_grad = [&](const float* dg, const float* ut, int64_t n) {
      float* out = rmask ? dhm.data() : dh.data();
      if (back_bf16)
        back_bf16->multiply(rows, dg, T * GU, out, U, !rmask);
      else
        K.gemm(rows, U, n, dg, T * GU, ut, U, out, U, !rmask);
      if (rmask) add_hm_grad();
    };

    // h_{t-1} (times the recurrent dropout mask) of every step, in time order, for dU.
    for (int64_t t = 0; t < T; ++t) {
      const int64_t tt = cfg.go_backwards ? T - 1 - t : t;
      for (int64_t r = 0; r < rows; ++r) {
        float* dst = Hm + ((b0 + r) * T + tt) * U;
        const float* src = t > 0 ? a.h_seq + ((b0 + r) * T + t - 1) * U
                                 : (a.h0 ? a.h0 + (b0 + r) * U : nullptr);
        // (branches outside the loops: a plain row copy without recurrent dropout)
        if (src == nullptr) {
          std::fill(dst, dst + U, 0.0f);
        } else if (rmask == nullptr) {
          std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(U));
        } else {
          for (int64_t i = 0; i < U; ++i) dst[i] = src[i] * rmask[r * U + i];
        }
      }
    }

    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t tt = cfg.go_backwards ? T - 1 - t : t;
      const int64_t ttp = cfg.go_backwards ? T - t : t - 1;  // time index of step t-1
      const float* gates = gates_all + (b0 * T + tt) * GU;
      const int64_t ldg = T * GU;
      float* dgp = dG + (b0 * T + tt) * GU;
      const float* dout = a.dh_seq ? a.dh_seq + (b0 * T + t) * U : nullptr;
      const uint8_t* m = a.mask ? a.mask + b0 * T + tt : nullptr;
      const float* h_prev = nullptr;
      int64_t ldhp = U;
      if (t > 0) {
        h_prev = a.h_seq + (b0 * T + t - 1) * U;
        ldhp = T * U;
      } else if (a.h0) {
        h_prev = a.h0 + b0 * U;
      }
      switch (cfg.cell) {
        case RnnCell::lstm: {
          const float* c_t = save + (b0 * T + tt) * U;
          const float* c_prev = nullptr;
          int64_t ldcp = U;
          if (t > 0) {
            c_prev = save + (b0 * T + ttp) * U;
            ldcp = T * U;
          } else if (a.c0) {
            c_prev = a.c0 + b0 * U;
          }
          K.lstm_backward(rows, U, act, ract, gates, ldg, c_t, T * U, c_prev, ldcp, dout, T * U,
                          dh.data(), dc.data(), dgp, T * GU, m, T);
          rec_grad(dgp, Ut, GU);
          break;
        }
        case RnnCell::gru:
          if (gru_ra) {
            float* dghp = dGh + (b0 * T + tt) * GU;
            K.gru_backward(rows, U, act, ract, gates, ldg, save + (b0 * T + tt) * U, T * U,
                           h_prev, ldhp, dout, T * U, dh.data(), dgp, dghp, T * GU, m, T);
            rec_grad(dghp, Ut, GU);
          } else {
            K.gru_backward_a(rows, U, act, ract, gates, ldg, h_prev, ldhp, dout, T * U,
                             dh.data(), dgp, T * GU, m, T);
            if (back_bf16_h)
              back_bf16_h->multiply(rows, dgp + 2 * U, T * GU, drh.data(), U, false);
            else
              K.gemm(rows, U, U, dgp + 2 * U, T * GU, Ut + 2 * U * U, U, drh.data(), U, false);
            for (int64_t r = 0; r < rows; ++r)
              std::memcpy(hmp.data() + r * U, Hm + ((b0 + r) * T + tt) * U, sizeof(float) * U);
            K.gru_backward_b(rows, U, ract, gates, ldg, hmp.data(), drh.data(), dgp, T * GU,
                             dhm.data(), m, T);
            if (back_bf16)
              back_bf16->multiply(rows, dgp, T * GU, dhm.data(), U, true);
            else
              K.gemm(rows, U, 2 * U, dgp, T * GU, Ut, U, dhm.data(), U, true);
            add_hm_grad();
          }
          break;
        case RnnCell::simple:
          K.simple_backward(rows, U, act, gates, ldg, dout, T * U, dh.data(), dgp, T * GU, m, T);
          rec_grad(dgp, Ut, GU);
          break;
      }
    }
    if (a.dh0) std::memcpy(a.dh0 + b0 * U, dh.data(), sizeof(float) * rows * U);
    if (a.dc0 && cfg.cell == RnnCell::lstm)
      std::memcpy(a.dc0 + b0 * U, dc.data(), sizeof(float) * rows * U);
    end_steps(back_bf16);
  });
  if (a.dc0 && cfg.cell != RnnCell::lstm) std::fill(a.dc0, a.dc0 + B * U, 0.0f);

  const int64_t BT = B * T;
  const float* dg_rows = dG;  // rows whose column sums give the (input) bias gradient
  int64_t n_dg_rows = BT;
  if (embedded) {
    // Gate gradients summed per distinct row (in step order), then d(rows) = S @ kernel^T
    // and d(kernel) = rows^T @ S over the distinct rows only.
    std::vector<int32_t> row_of;
    const int64_t n = distinct_rows(a.ids, BT, a.vocab, row_of,
                                    [&](int64_t r, int64_t id) { a.distinct_ids[r] = id; });
    *a.n_distinct = n;
    const float* rows_in = ws + l.total_train;
    float* S = ws + l.total_train + std::min(a.vocab, BT) * I;
    std::fill(S, S + n * GU, 0.0f);
    for (int64_t i = 0; i < BT; ++i) {
      float* dst = S + int64_t(row_of[i]) * GU;
      const float* src = dG + i * GU;
      for (int64_t j = 0; j < GU; ++j) dst[j] += src[j];
    }
    if (a.d_rows_sq)
      token_row_gradients(cfg, dG, BT, GU, I, a.kernel, row_of.data(), n, a.d_rows, a.d_rows_sq);
    else
      product(cfg, Trans::N, Trans::T, n, I, GU, S, GU, a.kernel, GU, a.d_rows, I);
    if (a.dkernel)
      product(cfg, Trans::T, Trans::N, I, GU, n, rows_in, I, S, GU, a.dkernel, GU);
    dg_rows = S;
    n_dg_rows = n;
  }
  if (a.dx) product(cfg, Trans::N, Trans::T, BT, I, GU, dG, GU, a.kernel, GU, a.dx, I);
  if (a.dkernel && !embedded)
    product(cfg, Trans::T, Trans::N, I, GU, BT, a.x, I, dG, GU, a.dkernel, GU);
  if (a.drecurrent_kernel) {
    float* dU = a.drecurrent_kernel;
    if (cfg.cell == RnnCell::gru && !cfg.reset_after) {
      product(cfg, Trans::T, Trans::N, U, 2 * U, BT, Hm, U, dG, GU, dU, GU);
      product(cfg, Trans::T, Trans::N, U, U, BT, save, U, dG + 2 * U, GU, dU + 2 * U, GU);
    } else {
      product(cfg, Trans::T, Trans::N, U, GU, BT, Hm, U, dGh, GU, dU, GU);
    }
  }
  if (a.dbias) {
    column_sums(dg_rows, n_dg_rows, GU, GU, a.dbias);
    if (gru_ra) column_sums(dGh, BT, GU, GU, a.dbias + GU);
  }
}

}  // namespace nnfast
