// SGEMM driver (BLIS-style): validates arguments, picks the micro-kernel for the active ISA,
// splits C across threads, and per thread runs the five loops around the micro-kernel:
//   jc (NC columns) -> pc (KC depth, pack op(B)) -> ic (MC rows, pack op(A)) -> jr -> ir.
// Packing reads A/B in whichever orientation they are stored, so NN/NT/TN/TT cost the same
// and no transposed copy is ever made. alpha is folded into packed A; beta applies on the
// first depth block only; bias and activation run on each C tile after its last depth block.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/gemm/gemm_kernels.h"
#include "nnfast/gemm.h"
#include "nnfast/runtime.h"
#include "ops/gemm_split.h"
#include "ops/scratch.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using kernels::GemmKernelInfo;

std::string dims(int64_t r, int64_t c) {
  return "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

const dispatch::Registry<GemmKernelInfo> kGemm{
    "gemm",
    {{Isa::avx512, "f32_gemm_14x32_avx512", &kernels::f32_gemm_avx512_info},
     {Isa::avx2, "f32_gemm_6x16_avx2", &kernels::f32_gemm_avx2_info},
     {Isa::ref, "f32_gemm_4x8_ref", &kernels::f32_gemm_ref_info}}};

thread_local ScratchBuffer<float> tl_pack_a;
thread_local ScratchBuffer<float> tl_pack_b;

// Packs rows [i0, i0+mc) x depth [p0, p0+kc) of alpha*op(A) into MR-row panels, each kc x MR
// with MR contiguous values per depth step; rows past mc are zero.
void pack_a(Trans trans_a, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float alpha, int mr_max, const GemmKernelInfo& kern, float* dst) {
  for (int64_t ir = 0; ir < mc; ir += mr_max) {
    const int64_t mr = std::min<int64_t>(mr_max, mc - ir);
    float* panel = dst + ir * kc;
    if (trans_a == Trans::N && kern.pack_t) {
      kern.pack_t(a + (i0 + ir) * lda + p0, lda, mr, kc, alpha, panel, mr_max);
    } else if (trans_a == Trans::T && kern.pack_n) {
      kern.pack_n(a + p0 * lda + i0 + ir, lda, mr, kc, alpha, panel, mr_max);
    } else if (trans_a == Trans::N) {
      // op(A)[i][p] = a[i*lda + p]: read each row contiguously, write with stride MR.
      for (int64_t i = 0; i < mr; ++i) {
        const float* src = a + (i0 + ir + i) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) panel[p * mr_max + i] = alpha * src[p];
      }
      for (int64_t i = mr; i < mr_max; ++i)
        for (int64_t p = 0; p < kc; ++p) panel[p * mr_max + i] = 0.0f;
    } else {
      // op(A)[i][p] = a[p*lda + i]: each depth step is a contiguous run of mr values.
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ir;
        float* out = panel + p * mr_max;
        for (int64_t i = 0; i < mr; ++i) out[i] = alpha * src[i];
        for (int64_t i = mr; i < mr_max; ++i) out[i] = 0.0f;
      }
    }
  }
}

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels, each kc x NR.
// Columns past nc are left unwritten: the kernel reads only the nr valid ones.
void pack_b(Trans trans_b, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, int nr_max, const GemmKernelInfo& kern, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += nr_max) {
    const int64_t nr = std::min<int64_t>(nr_max, nc - jr);
    float* panel = dst + jr * kc;
    if (trans_b == Trans::N && kern.pack_n) {
      kern.pack_n(b + p0 * ldb + j0 + jr, ldb, nr, kc, 1.0f, panel, nr_max);
    } else if (trans_b == Trans::N) {
      for (int64_t p = 0; p < kc; ++p)
        std::memcpy(panel + p * nr_max, b + (p0 + p) * ldb + j0 + jr,
                    static_cast<size_t>(nr) * sizeof(float));
    } else if (kern.pack_t) {
      kern.pack_t(b + (j0 + jr) * ldb + p0, ldb, nr, kc, 1.0f, panel, nr_max);
    } else {
      // op(B)[p][j] = b[j*ldb + p]: read each stored row contiguously, write with stride NR.
      for (int64_t j = 0; j < nr; ++j) {
        const float* src = b + (j0 + jr + j) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) panel[p * nr_max + j] = src[p];
      }
    }
  }
}

struct GemmArgs {
  Trans trans_a, trans_b;
  int64_t m, n, k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
  const GemmEpilogue* epilogue;
};

// Computes the block C[m0:m1, n0:n1] on the calling thread.
void gemm_block(const GemmArgs& g, const GemmKernelInfo& kern, int64_t m0, int64_t m1,
                int64_t n0, int64_t n1) {
  const int MR = kern.mr, NR = kern.nr;
  const int64_t KC = kern.kc;
  const int64_t MC = kern.mc, NC = kern.nc;
  const int64_t k = g.alpha == 0.0f ? 0 : g.k;  // alpha == 0: A and B are not read
  const bool has_act = g.epilogue->activation != Activation::linear;
  const float* scale = g.epilogue->scale;
  const float* residual = g.epilogue->residual;
  const bool rows_pass = scale || residual;  // epilogues the micro-kernel cannot do
  // NOTE: an untransposed B is read in place when this thread's rows are few: packing would
  // cost about as much as the multiply. Long row blocks pack B for L1/TLB-friendly panels.
  const bool pack_b_needed = g.trans_b == Trans::T || (m1 - m0) > 4 * MR;

  const int64_t mc_max = std::min<int64_t>(MC, ((m1 - m0 + MR - 1) / MR) * MR);
  const int64_t kc_max = std::max<int64_t>(1, std::min<int64_t>(KC, k));
  float* abuf = tl_pack_a.get(static_cast<size_t>(mc_max * kc_max));
  float* bbuf = nullptr;
  if (pack_b_needed) {
    const int64_t nc_max = std::min<int64_t>(NC, ((n1 - n0 + NR - 1) / NR) * NR);
    bbuf = tl_pack_b.get(static_cast<size_t>(nc_max * kc_max));
  }

  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, n1 - jc);
    // k == 0 still runs one (empty) depth block so that beta, bias and activation apply.
    for (int64_t pc = 0; pc == 0 || pc < k; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      const bool last = pc + kc >= k;
      // With a scale, the bias joins it in the epilogue pass (the kernel can only add).
      const float* bias = last && !rows_pass ? g.epilogue->bias : nullptr;
      if (pack_b_needed) pack_b(g.trans_b, g.b, g.ldb, pc, kc, jc, nc, NR, kern, bbuf);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min<int64_t>(MC, m1 - ic);
        pack_a(g.trans_a, g.a, g.lda, ic, mc, pc, kc, g.alpha, MR, kern, abuf);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          const float* bp;
          int64_t ldbp;
          if (pack_b_needed) {
            bp = bbuf + jr * kc;
            ldbp = NR;
          } else {
            bp = g.b + pc * g.ldb + jc + jr;
            ldbp = g.ldb;
          }
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min<int64_t>(MR, mc - ir);
            float* ct = g.c + (ic + ir) * g.ldc + jc + jr;
            if (last && residual)
              prefetch_rows(residual + (ic + ir) * g.epilogue->ldr + jc + jr, g.epilogue->ldr,
                            mr, nr);
            kern.fn(kc, abuf + ir * kc, bp, ldbp, ct, g.ldc, mr, nr, beta,
                    bias ? bias + jc + jr : nullptr);
            if (last && rows_pass)
              scale_shift_activation_rows(
                  ct, g.ldc, mr, nr, scale ? scale + jc + jr : nullptr,
                  g.epilogue->bias ? g.epilogue->bias + jc + jr : nullptr,
                  residual ? residual + (ic + ir) * g.epilogue->ldr + jc + jr : nullptr,
                  g.epilogue->ldr, g.epilogue->activation, g.epilogue->params);
            else if (last && has_act)
              scale_shift_activation_rows(ct, g.ldc, mr, nr, nullptr, nullptr, nullptr, 0,
                                          g.epilogue->activation, g.epilogue->params);
          }
        }
      }
    }
  }
}

}  // namespace

const char* sgemm_kernel_name() { return kGemm.peek().fns->name; }

const GemmKernelInfo& sgemm_micro_kernel() { return *kGemm.select().fns; }

void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, const GemmEpilogue& epilogue) {
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("sgemm: negative dimension m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  const int64_t a_cols = trans_a == Trans::N ? k : m;
  const int64_t b_cols = trans_b == Trans::N ? n : k;
  // NOTE: a stride of 0 is fine for an empty row (row-major (m, 0) arrays report it).
  if (lda < a_cols || ldb < b_cols || ldc < n)
    throw std::invalid_argument("sgemm: leading dimension too small: lda=" + std::to_string(lda) +
                                " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) +
                                " for op(A) " + dims(m, k) + ", op(B) " + dims(k, n) + ", C " +
                                dims(m, n));
  if (m == 0 || n == 0) return;

  const GemmKernelInfo& kern = *kGemm.select().fns;
  const GemmArgs g{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &epilogue};

  for_each_gemm_block(m, n, k, kern.mr, kern.nr, [&](int64_t m0, int64_t m1, int64_t n0,
                                                     int64_t n1) {
    gemm_block(g, kern, m0, m1, n0, n1);
  });
}

void sgemm_batched(Trans trans_a, Trans trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                   float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                   int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                   int64_t stride_c) {
  if (batch < 0)
    throw std::invalid_argument("sgemm_batched: negative batch " + std::to_string(batch));
  auto one = [&](int64_t i) {
    sgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
          c + i * stride_c, ldc);
  };
  if (batch == 0) return;
  one(0);  // validates the dimensions before any thread starts
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  // Products big enough to thread themselves run one after another; small ones are shared
  // out (sgemm inside a parallel region stays on its thread).
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kGemmMinFlopsPerThread /
                                                                 std::max(flops, 1.0)));
  if (flops >= kGemmMinFlopsPerThread * num_threads()) {
    for (int64_t i = 1; i < batch; ++i) one(i);
  } else {
    parallel_for_chunks(batch - 1, grain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) one(i + 1);
    });
  }
}

}  // namespace nnfast
