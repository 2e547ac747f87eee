// The recurrent step products in bf16 (see rnn_bf16.h). The packed layouts and micro-kernels
// are gemm_bf16's (kernels/gemm/gemm_bf16_kernels.h): B panels of NR columns per depth block
// of kc, A panels of MR rows packed per call of multiply.
#include "ops/rnn_bf16.h"

#include <algorithm>
#include <cstring>

#include "ops/gemm_bf16_select.h"

namespace nnfast {
namespace {

// via f32: op(B) in blocks of this many columns, each block's rows contiguous (as the fp32
// driver packs the recurrent kernel: a register panel then streams contiguous memory).
constexpr int64_t kBlockCols = 64;

thread_local ScratchBuffer<uint32_t> tl_a_pairs;  // A panels of one product
thread_local ScratchBuffer<float> tl_a_rounded;   // via f32: A rounded

int64_t padded_pairs(int64_t kc, int64_t align) {
  return ((kc + 1) / 2 + align - 1) / align * align;
}

}  // namespace

Bf16StepProduct::Bf16StepProduct(Trans trans_b, const float* b, int64_t ldb, int64_t k, int64_t n,
                                 Bf16GemmVariant variant, const kernels::RnnKernelSet& fallback)
    : kern_(gemm_bf16_micro_kernel(variant)), fallback_(fallback), k_(k), n_(n) {
  if (kern_ == nullptr) {
    float* dst = rounded_.get(static_cast<size_t>(std::max<int64_t>(k * n, 1)));
    for (int64_t j0 = 0; j0 < n; j0 += kBlockCols) {
      const int64_t nb = std::min(kBlockCols, n - j0);
      float* d = dst + j0 * k;
      for (int64_t p = 0; p < k; ++p)
        for (int64_t j = 0; j < nb; ++j)
          d[p * nb + j] = trans_b == Trans::N ? b[p * ldb + j0 + j] : b[(j0 + j) * ldb + p];
    }
    round_to_bf16_array(dst, dst, k * n);
    rounded_b_ = dst;
    return;
  }
  const int64_t KC = kern_->kc, NR = kern_->nr;
  const int64_t panels = (n + NR - 1) / NR;
  blocks_ = std::max<int64_t>(1, (k + KC - 1) / KC);
  k2_max_ = std::max<int64_t>(kern_->pair_align, padded_pairs(std::min(KC, k), kern_->pair_align));
  uint32_t* dst = packed_.get(static_cast<size_t>(blocks_ * panels * NR * k2_max_));
  panels_ = dst;
  for (int64_t blk = 0; blk < blocks_; ++blk) {
    const int64_t pc = blk * KC, kc = std::min(KC, k - pc);
    const int64_t k2 = std::max<int64_t>(kern_->pair_align, padded_pairs(kc, kern_->pair_align));
    uint32_t* block = dst + blk * panels * NR * k2_max_;
    for (int64_t jr = 0; jr < n; jr += NR) {
      const int64_t nr = std::min(NR, n - jr);
      if (trans_b == Trans::N)
        kern_->pack_b_along_cols(b + pc * ldb + jr, ldb, nr, kc, 1.0f, block + jr * k2, NR);
      else
        kern_->pack_b_along_rows(b + jr * ldb + pc, ldb, nr, kc, 1.0f, block + jr * k2, NR);
    }
  }
}

void Bf16StepProduct::begin_thread() const {
  if (kern_ && kern_->begin) kern_->begin();
}

void Bf16StepProduct::end_thread() const {
  if (kern_ && kern_->end) kern_->end();
}

const char* Bf16StepProduct::name() const { return kern_ ? kern_->name : "bf16_via_f32_rnn"; }

void Bf16StepProduct::multiply(int64_t rows, const float* a, int64_t lda, float* c, int64_t ldc,
                               bool accumulate) const {
  if (rows <= 0 || n_ == 0) return;
  if (kern_ == nullptr) {
    float* ar = tl_a_rounded.get(static_cast<size_t>(std::max<int64_t>(rows * k_, 1)));
    for (int64_t r = 0; r < rows; ++r) round_to_bf16_array(a + r * lda, ar + r * k_, k_);
    const float* packed = rounded_b_;
    for (int64_t j0 = 0; j0 < n_; j0 += kBlockCols) {
      const int64_t nb = std::min(kBlockCols, n_ - j0);
      fallback_.gemm(rows, nb, k_, ar, k_, packed + j0 * k_, nb, c + j0, ldc, accumulate);
    }
    return;
  }
  const int64_t MR = kern_->mr, NR = kern_->nr, KC = kern_->kc;
  const int64_t panels = (n_ + NR - 1) / NR;
  const int64_t m_padded = (rows + MR - 1) / MR * MR;
  uint32_t* abuf = tl_a_pairs.get(static_cast<size_t>(m_padded * k2_max_));
  const uint32_t* packed = panels_;
  for (int64_t blk = 0; blk < blocks_; ++blk) {
    const int64_t pc = blk * KC, kc = std::min(KC, k_ - pc);
    const int64_t k2 = std::max<int64_t>(kern_->pair_align, padded_pairs(kc, kern_->pair_align));
    for (int64_t ir = 0; ir < rows; ir += MR)
      kern_->pack_a_along_rows(a + ir * lda + pc, lda, std::min(MR, rows - ir), kc, 1.0f,
                               abuf + ir * k2, MR);
    const float beta = blk == 0 && !accumulate ? 0.0f : 1.0f;
    const uint32_t* block = packed + blk * panels * NR * k2_max_;
    for (int64_t jr = 0; jr < n_; jr += NR) {
      const int64_t nr = std::min(NR, n_ - jr);
      for (int64_t ir = 0; ir < rows; ir += MR)
        kern_->fn(k2, abuf + ir * k2, block + jr * k2, c + ir * ldc + jr, ldc,
                  std::min(MR, rows - ir), nr, beta, nullptr);
    }
  }
}

}  // namespace nnfast
