// bfloat16 GEMM driver: C = activation(alpha * bf16(op(A)) @ bf16(op(B)) + beta * C + bias),
// inputs rounded to bfloat16 (nearest even), products accumulated in fp32, C in fp32.
// With bf16 units (AMX tiles or AVX512_BF16) the loops are the BLIS ones of gemm.cpp around
// the unit's micro-kernel, with rounding done while packing. Without them (or with the ISA
// capped below AVX-512) the inputs are rounded into fp32 copies and the fp32 GEMM runs: the
// same products (a bf16 x bf16 product is exact in fp32), summed in another order.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gemm/gemm_bf16_kernels.h"
#include "nnfast/gemm.h"
#include "nnfast/runtime.h"
#include "ops/gemm_bf16_select.h"
#include "ops/gemm_split.h"
#include "ops/scratch.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using kernels::Bf16GemmKernelInfo;

thread_local ScratchBuffer<uint32_t> tl_pairs_a;
thread_local ScratchBuffer<uint32_t> tl_pairs_b;

struct Bf16Args {
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

void bf16_block(const Bf16Args& g, const Bf16GemmKernelInfo& kern, int64_t m0, int64_t m1,
                int64_t n0, int64_t n1) {
  const int MR = kern.mr, NR = kern.nr;
  const int64_t KC = kern.kc, MC = kern.mc, NC = kern.nc;
  const int64_t k = g.alpha == 0.0f ? 0 : g.k;
  const GemmEpilogue& ep = *g.epilogue;
  const bool rows_pass = ep.scale || ep.residual || ep.activation != Activation::linear;
  const int64_t mc_max = std::min<int64_t>(MC, ((m1 - m0 + MR - 1) / MR) * MR);
  const int64_t nc_max = std::min<int64_t>(NC, ((n1 - n0 + NR - 1) / NR) * NR);
  const int64_t align = kern.pair_align;
  auto padded = [align](int64_t kc) { return ((kc + 1) / 2 + align - 1) / align * align; };
  const int64_t k2_max = std::max<int64_t>(align, padded(std::min<int64_t>(KC, k)));
  uint32_t* abuf = tl_pairs_a.get(static_cast<size_t>(mc_max * k2_max));
  uint32_t* bbuf = tl_pairs_b.get(static_cast<size_t>(nc_max * k2_max));

  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, n1 - jc);
    for (int64_t pc = 0; pc == 0 || pc < k; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, k - pc);
      const int64_t k2 = padded(kc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      const bool last = pc + kc >= k;
      const float* bias = last && !rows_pass ? ep.bias : nullptr;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t nr = std::min<int64_t>(NR, nc - jr);
        uint32_t* panel = bbuf + jr * k2;
        if (g.trans_b == Trans::N)
          kern.pack_b_along_cols(g.b + pc * g.ldb + jc + jr, g.ldb, nr, kc, 1.0f, panel, NR);
        else
          kern.pack_b_along_rows(g.b + (jc + jr) * g.ldb + pc, g.ldb, nr, kc, 1.0f, panel, NR);
      }
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min<int64_t>(MC, m1 - ic);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int64_t mr = std::min<int64_t>(MR, mc - ir);
          uint32_t* panel = abuf + ir * k2;
          if (g.trans_a == Trans::N)
            kern.pack_a_along_rows(g.a + (ic + ir) * g.lda + pc, g.lda, mr, kc, g.alpha, panel,
                                   MR);
          else
            kern.pack_a_along_cols(g.a + pc * g.lda + ic + ir, g.lda, mr, kc, g.alpha, panel,
                                   MR);
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min<int64_t>(MR, mc - ir);
            float* ct = g.c + (ic + ir) * g.ldc + jc + jr;
            kern.fn(k2, abuf + ir * k2, bbuf + jr * k2, ct, g.ldc, mr, nr, beta,
                    bias ? bias + jc + jr : nullptr);
            if (last && rows_pass)
              scale_shift_activation_rows(
                  ct, g.ldc, mr, nr, ep.scale ? ep.scale + jc + jr : nullptr,
                  ep.bias ? ep.bias + jc + jr : nullptr,
                  ep.residual ? ep.residual + (ic + ir) * ep.ldr + jc + jr : nullptr, ep.ldr,
                  ep.activation, ep.params);
          }
        }
      }
    }
  }
}

// scale * a (rows, cols) matrix with row stride ld, rounded to bf16 precision, as a dense
// fp32 copy (scale first, as the bf16 kernels fold alpha into packed A).
std::vector<float> rounded_copy(const float* src, int64_t rows, int64_t cols, int64_t ld,
                                float scale) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) out[r * cols + j] = scale * src[r * ld + j];
  round_to_bf16_array(out.data(), out.data(), rows * cols);
  return out;
}

// The micro-kernel of a variant (null for the fp32 route).
const kernels::Bf16GemmKernelInfo* kernel_of(Bf16GemmVariant v) {
  switch (v) {
    case Bf16GemmVariant::amx: return &kernels::bf16_gemm_amx_info;
    case Bf16GemmVariant::avx512bf16: return &kernels::bf16_gemm_avx512bf16_info;
    default: return nullptr;
  }
}

const Bf16GemmVariant kAmx = Bf16GemmVariant::amx, kAvx512Bf16 = Bf16GemmVariant::avx512bf16,
                      kViaF32 = Bf16GemmVariant::via_f32;
const dispatch::Registry<Bf16GemmVariant> kBf16Gemm{
    "gemm_bf16",
    {{Isa::avx512, "bf16_gemm_32x32_amx", &kAmx, nullptr, nullptr, cpu_has_amx_bf16,
      "AMX-BF16 tiles"},
     {Isa::avx512, "bf16_gemm_14x32_avx512bf16", &kAvx512Bf16, nullptr, nullptr,
      cpu_has_avx512_bf16, "AVX512_BF16"},
     {Isa::ref, "bf16_via_f32_gemm", &kViaF32}}};

// `best` goes through the registry (recorded and logged when `record`); a named variant is
// checked and taken as asked.
Bf16GemmVariant resolve(Bf16GemmVariant v, bool record = true) {
  if (v != Bf16GemmVariant::best) {
    if (!gemm_bf16_variant_available(v))
      throw std::invalid_argument("gemm_bf16: variant " + std::to_string(static_cast<int>(v)) +
                                  " cannot run on this CPU under the current ISA cap");
    return v;
  }
  return record ? *kBf16Gemm.select().fns : *kBf16Gemm.peek().fns;
}

void gemm_via_f32(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, int64_t a_rows, int64_t a_cols, const float* b,
                  int64_t ldb, int64_t b_rows, int64_t b_cols, float beta, float* c,
                  int64_t ldc, const GemmEpilogue& epilogue) {
  const std::vector<float> ra = rounded_copy(a, a_rows, a_cols, lda, alpha);
  const std::vector<float> rb = rounded_copy(b, b_rows, b_cols, ldb, 1.0f);
  sgemm(trans_a, trans_b, m, n, k, 1.0f, ra.data(), a_cols, rb.data(), b_cols, beta, c, ldc,
        epilogue);
}

}  // namespace

bool gemm_bf16_variant_available(Bf16GemmVariant variant) {
  const bool avx512 = active_isa() == Isa::avx512;
  switch (variant) {
    case Bf16GemmVariant::amx: return avx512 && cpu_has_amx_bf16();
    case Bf16GemmVariant::avx512bf16: return avx512 && cpu_has_avx512_bf16();
    default: return true;
  }
}

const kernels::Bf16GemmKernelInfo* gemm_bf16_micro_kernel(Bf16GemmVariant variant) {
  return kernel_of(resolve(variant));
}

const char* gemm_bf16_kernel_name() {
  const kernels::Bf16GemmKernelInfo* kern = kernel_of(resolve(Bf16GemmVariant::best, false));
  return kern ? kern->name : "bf16_via_f32_gemm";
}

void gemm_bf16(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc, const GemmEpilogue& epilogue, Bf16GemmVariant variant) {
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("gemm_bf16: negative dimension m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  const int64_t a_rows = trans_a == Trans::N ? m : k, a_cols = trans_a == Trans::N ? k : m;
  const int64_t b_rows = trans_b == Trans::N ? k : n, b_cols = trans_b == Trans::N ? n : k;
  if (lda < a_cols || ldb < b_cols || ldc < n)
    throw std::invalid_argument("gemm_bf16: leading dimension too small: lda=" +
                                std::to_string(lda) + " ldb=" + std::to_string(ldb) +
                                " ldc=" + std::to_string(ldc));
  if (m == 0 || n == 0) return;
  const Bf16GemmVariant chosen = resolve(variant);
  const kernels::Bf16GemmKernelInfo* kern = kernel_of(chosen);
  if (kern == nullptr) {
    if (variant != Bf16GemmVariant::best) log_choice("gemm_bf16", "bf16_via_f32_gemm", "asked for");
    gemm_via_f32(trans_a, trans_b, m, n, k, alpha, a, lda, a_rows, a_cols, b, ldb, b_rows,
                 b_cols, beta, c, ldc, epilogue);
    return;
  }
  if (variant != Bf16GemmVariant::best) log_choice("gemm_bf16", kern->name, "asked for");
  const Bf16Args g{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &epilogue};
  for_each_gemm_block(m, n, k, kern->mr, kern->nr, [&](int64_t m0, int64_t m1, int64_t n0,
                                                       int64_t n1) {
    if (kern->begin) kern->begin();
    bf16_block(g, *kern, m0, m1, n0, n1);
    if (kern->end) kern->end();
  });
}

}  // namespace nnfast
