// The vectorized recurrent kernels, written once over the shared vector vocabulary
// (kernels/simd_math.h) that each ISA file (rnn_avx2.cpp, rnn_avx512.cpp) includes first,
// with the GEMM register tile kMR / kNV (rows x vectors) defined before this header.
//
// NOTE: sigmoid(x) = 0.5*tanh(x/2)+0.5 here, so both gate nonlinearities cost one division
// and no exp (vtanh is Eigen's rational approximation, a few ulp).

namespace {

// nnfast::Activation ids (activation.h).
enum : int { kLinear = 0, kRelu = 1, kSigmoid = 2, kTanh = 3, kHardSigmoid = 12 };

inline VF vact(int act, VF x) {
  const VF half = vset1(0.5f);
  switch (act) {
    case kTanh: return vtanh(x);
    case kSigmoid: return vfmadd(half, vtanh(vmul(half, x)), half);
    case kHardSigmoid:
      return vmin(vmax(vfmadd(x, vset1(1.0f / 6.0f), half), vzero()), vset1(1.0f));
    case kRelu: return vmax(x, vzero());
    default: return x;
  }
}

// Derivative through the output y = f(x).
inline VF vact_d(int act, VF y) {
  const VF one = vset1(1.0f);
  switch (act) {
    case kTanh: return vsub(one, vmul(y, y));
    case kSigmoid: return vmul(y, vsub(one, y));
    case kHardSigmoid: return vkeep_gt(y, vzero(), vkeep_gt(one, y, vset1(1.0f / 6.0f)));
    case kRelu: return vkeep_gt(y, vzero(), one);
    default: return one;
  }
}

inline bool real_row(const uint8_t* mask, int64_t ld, int64_t r) {
  return mask == nullptr || mask[r * ld] != 0;
}

inline void copy_row(float* dst, const float* src, int64_t n) {
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) { st(tag, dst + j, ld(tag, src + j, m), m); });
}

inline void zero_row(float* dst, int64_t n) {
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) { st(tag, dst + j, vzero(), m); });
}

// ---- the recurrent GEMM: register tiles of R rows x NV vectors, k unrolled by nothing ----

template <int R, int NV, typename Tag>
inline void gemm_tile(Tag tag, int64_t k, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float* c, int64_t ldc, bool accumulate, int64_t tail) {
  VF s[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v)
      s[r][v] = accumulate ? (v == NV - 1 ? ld(tag, c + r * ldc + v * W, tail)
                                          : vload(c + r * ldc + v * W))
                           : vzero();
  for (int64_t p = 0; p < k; ++p) {
    VF bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = v == NV - 1 ? ld(tag, b + p * ldb + v * W, tail) : vload(b + p * ldb + v * W);
    for (int r = 0; r < R; ++r) {
      const VF ar = vset1(a[r * lda + p]);
      for (int v = 0; v < NV; ++v) s[r][v] = vfmadd(ar, bv[v], s[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1)
        st(tag, c + r * ldc + v * W, s[r][v], tail);
      else
        vstore(c + r * ldc + v * W, s[r][v]);
    }
}

// All rows for one column panel of NV vectors (the last one possibly partial).
template <int NV, typename Tag>
inline void gemm_panel(Tag tag, int64_t rows, int64_t k, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float* c, int64_t ldc, bool acc,
                       int64_t tail) {
  int64_t r = 0;
  for (; r + kMR <= rows; r += kMR)
    gemm_tile<kMR, NV>(tag, k, a + r * lda, lda, b, ldb, c + r * ldc, ldc, acc, tail);
  for (; r + 2 <= rows; r += 2)
    gemm_tile<2, NV>(tag, k, a + r * lda, lda, b, ldb, c + r * ldc, ldc, acc, tail);
  if (r < rows) gemm_tile<1, NV>(tag, k, a + r * lda, lda, b, ldb, c + r * ldc, ldc, acc, tail);
}

void gemm_simd(int64_t rows, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  // k in blocks of 128, whose slices of the kernel panels and of a's rows stay in L1 across
  // the tiles (the backward's dG @ U^T has k = 4u: a 64 KB panel at 64 units). Each tile
  // takes the blocks in order, accumulating in c, so the sums are the same as in one pass.
  constexpr int64_t kKc = 128;
  for (int64_t p0 = 0; p0 < k; p0 += kKc) {
    const int64_t kb = k - p0 < kKc ? k - p0 : kKc;
    const bool acc = accumulate || p0 > 0;
    const float* ap = a + p0;
    const float* bp = b + p0 * ldb;
    int64_t j = 0;
    for (; j + kNV * W <= n; j += kNV * W)
      gemm_panel<kNV>(Full{}, rows, kb, ap, lda, bp + j, ldb, c + j, ldc, acc, W);
    for (; j + W <= n; j += W)
      gemm_panel<1>(Full{}, rows, kb, ap, lda, bp + j, ldb, c + j, ldc, acc, W);
    if (j < n) gemm_panel<1>(Tail{}, rows, kb, ap, lda, bp + j, ldb, c + j, ldc, acc, n - j);
  }
}

// ---- LSTM ----

void lstm_forward_simd(int64_t rows, int64_t u, int act, int rec_act, float* gates,
                       int64_t ldg, float* c, float* h, float* h_out, int64_t ldh_out,
                       float* c_save, int64_t ldc_save, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* cr = c + r * u;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
        const VF i = vact(rec_act, ld(tag, g + j, n));
        const VF f = vact(rec_act, ld(tag, g + u + j, n));
        const VF gg = vact(act, ld(tag, g + 2 * u + j, n));
        const VF o = vact(rec_act, ld(tag, g + 3 * u + j, n));
        st(tag, g + j, i, n);
        st(tag, g + u + j, f, n);
        st(tag, g + 2 * u + j, gg, n);
        st(tag, g + 3 * u + j, o, n);
        const VF cn = vfmadd(f, ld(tag, cr + j, n), vmul(i, gg));
        st(tag, cr + j, cn, n);
        st(tag, hr + j, vmul(o, vact(act, cn)), n);
      });
    }
    if (h_out) copy_row(h_out + r * ldh_out, hr, u);
    if (c_save) copy_row(c_save + r * ldc_save, cr, u);
  }
}

void lstm_backward_simd(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                        int64_t ldg, const float* c_t, int64_t ldc_t, const float* c_prev,
                        int64_t ldc_prev, const float* dh_out, int64_t ldh_out, float* dh,
                        float* dc, float* dgates, int64_t lddg, const uint8_t* mask,
                        int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* dcr = dc + r * u;
    float* dg = dgates + r * lddg;
    const float* g = gates + r * ldg;
    const float* dor = dh_out ? dh_out + r * ldh_out : nullptr;
    if (!real_row(mask, ld_mask, r)) {
      if (dor)
        for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
          st(tag, dhr + j, vadd(ld(tag, dhr + j, n), ld(tag, dor + j, n)), n);
        });
      zero_row(dg, 4 * u);
      continue;
    }
    const float* ct = c_t + r * ldc_t;
    const float* cp = c_prev ? c_prev + r * ldc_prev : nullptr;
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      VF dho = ld(tag, dhr + j, n);
      if (dor) dho = vadd(dho, ld(tag, dor + j, n));
      const VF i = ld(tag, g + j, n), f = ld(tag, g + u + j, n);
      const VF gg = ld(tag, g + 2 * u + j, n), o = ld(tag, g + 3 * u + j, n);
      const VF tc = vact(act, ld(tag, ct + j, n));
      const VF cpv = cp ? ld(tag, cp + j, n) : vzero();
      const VF dct = vfmadd(vmul(dho, o), vact_d(act, tc), ld(tag, dcr + j, n));
      st(tag, dg + j, vmul(vmul(dct, gg), vact_d(rec_act, i)), n);
      st(tag, dg + u + j, vmul(vmul(dct, cpv), vact_d(rec_act, f)), n);
      st(tag, dg + 2 * u + j, vmul(vmul(dct, i), vact_d(act, gg)), n);
      st(tag, dg + 3 * u + j, vmul(vmul(dho, tc), vact_d(rec_act, o)), n);
      st(tag, dcr + j, vmul(dct, f), n);
      st(tag, dhr + j, vzero(), n);
    });
  }
}

// ---- GRU ----

void gru_forward_simd(int64_t rows, int64_t u, int act, int rec_act, float* gates, int64_t ldg,
                      const float* rec, int64_t ldr, const float* rec_bias, float* h,
                      float* h_out, int64_t ldh_out, float* hrh_save, int64_t ldhrh,
                      const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    const float* rr = rec + r * ldr;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
        VF pz = vadd(ld(tag, g + j, n), ld(tag, rr + j, n));
        VF pr = vadd(ld(tag, g + u + j, n), ld(tag, rr + u + j, n));
        VF hrh = ld(tag, rr + 2 * u + j, n);
        if (rec_bias) {
          pz = vadd(pz, ld(tag, rec_bias + j, n));
          pr = vadd(pr, ld(tag, rec_bias + u + j, n));
          hrh = vadd(hrh, ld(tag, rec_bias + 2 * u + j, n));
        }
        const VF z = vact(rec_act, pz);
        const VF rg = vact(rec_act, pr);
        const VF hh = vact(act, vfmadd(rg, hrh, ld(tag, g + 2 * u + j, n)));
        st(tag, g + j, z, n);
        st(tag, g + u + j, rg, n);
        st(tag, g + 2 * u + j, hh, n);
        if (hrh_save) st(tag, hrh_save + r * ldhrh + j, hrh, n);
        // z*h + (1-z)*hh = hh + z*(h - hh)
        st(tag, hr + j, vfmadd(z, vsub(ld(tag, hr + j, n), hh), hh), n);
      });
    }
    if (h_out) copy_row(h_out + r * ldh_out, hr, u);
  }
}

void gru_backward_simd(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                       int64_t ldg, const float* hrh, int64_t ldhrh, const float* h_prev,
                       int64_t ldh_prev, const float* dh_out, int64_t ldh_out, float* dh,
                       float* dgx, float* dgh, int64_t lddg, const uint8_t* mask,
                       int64_t ld_mask) {
  const VF one = vset1(1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* gx = dgx + r * lddg;
    float* gh = dgh + r * lddg;
    const float* g = gates + r * ldg;
    const float* dor = dh_out ? dh_out + r * ldh_out : nullptr;
    const float* hp = h_prev ? h_prev + r * ldh_prev : nullptr;
    const bool real = real_row(mask, ld_mask, r);
    if (!real) {
      zero_row(gx, 3 * u);
      zero_row(gh, 3 * u);
    }
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      VF d = ld(tag, dhr + j, n);
      if (dor) d = vadd(d, ld(tag, dor + j, n));
      if (!real) {
        st(tag, dhr + j, d, n);
        return;
      }
      const VF z = ld(tag, g + j, n), rg = ld(tag, g + u + j, n), hh = ld(tag, g + 2 * u + j, n);
      const VF hpv = hp ? ld(tag, hp + j, n) : vzero();
      const VF dz = vmul(vmul(d, vsub(hpv, hh)), vact_d(rec_act, z));
      const VF dhh = vmul(vmul(d, vsub(one, z)), vact_d(act, hh));
      const VF dr = vmul(vmul(dhh, ld(tag, hrh + r * ldhrh + j, n)), vact_d(rec_act, rg));
      st(tag, gx + j, dz, n);
      st(tag, gh + j, dz, n);
      st(tag, gx + u + j, dr, n);
      st(tag, gh + u + j, dr, n);
      st(tag, gx + 2 * u + j, dhh, n);
      st(tag, gh + 2 * u + j, vmul(dhh, rg), n);
      st(tag, dhr + j, vmul(d, z), n);
    });
  }
}

void gru_forward_a_simd(int64_t rows, int64_t u, int rec_act, float* gates, int64_t ldg,
                        const float* hm, float* rh, int64_t ldrh) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      st(tag, g + j, vact(rec_act, ld(tag, g + j, n)), n);
      const VF rg = vact(rec_act, ld(tag, g + u + j, n));
      st(tag, g + u + j, rg, n);
      st(tag, rh + r * ldrh + j, vmul(rg, ld(tag, hm + r * u + j, n)), n);
    });
  }
}

void gru_forward_b_simd(int64_t rows, int64_t u, int act, float* gates, int64_t ldg, float* h,
                        float* h_out, int64_t ldh_out, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
        const VF hh = vact(act, ld(tag, g + 2 * u + j, n));
        st(tag, g + 2 * u + j, hh, n);
        st(tag, hr + j, vfmadd(ld(tag, g + j, n), vsub(ld(tag, hr + j, n), hh), hh), n);
      });
    }
    if (h_out) copy_row(h_out + r * ldh_out, hr, u);
  }
}

void gru_backward_a_simd(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                         int64_t ldg, const float* h_prev, int64_t ldh_prev,
                         const float* dh_out, int64_t ldh_out, float* dh, float* dg,
                         int64_t lddg, const uint8_t* mask, int64_t ld_mask) {
  const VF one = vset1(1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* d = dg + r * lddg;
    const float* g = gates + r * ldg;
    const float* dor = dh_out ? dh_out + r * ldh_out : nullptr;
    const float* hp = h_prev ? h_prev + r * ldh_prev : nullptr;
    const bool real = real_row(mask, ld_mask, r);
    if (!real) zero_row(d, 3 * u);
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      VF x = ld(tag, dhr + j, n);
      if (dor) x = vadd(x, ld(tag, dor + j, n));
      if (!real) {
        st(tag, dhr + j, x, n);
        return;
      }
      const VF z = ld(tag, g + j, n), hh = ld(tag, g + 2 * u + j, n);
      const VF hpv = hp ? ld(tag, hp + j, n) : vzero();
      st(tag, d + j, vmul(vmul(x, vsub(hpv, hh)), vact_d(rec_act, z)), n);
      st(tag, d + 2 * u + j, vmul(vmul(x, vsub(one, z)), vact_d(act, hh)), n);
      st(tag, dhr + j, vmul(x, z), n);
    });
  }
}

void gru_backward_b_simd(int64_t rows, int64_t u, int rec_act, const float* gates, int64_t ldg,
                         const float* hm, const float* drh, float* dg, int64_t lddg,
                         float* dhm, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dg + r * lddg;
    if (!real_row(mask, ld_mask, r)) {
      zero_row(d + u, u);
      zero_row(dhm + r * u, u);
      continue;
    }
    const float* g = gates + r * ldg;
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      const VF rg = ld(tag, g + u + j, n);
      const VF x = ld(tag, drh + r * u + j, n);
      st(tag, d + u + j, vmul(vmul(x, ld(tag, hm + r * u + j, n)), vact_d(rec_act, rg)), n);
      st(tag, dhm + r * u + j, vmul(x, rg), n);
    });
  }
}

// ---- SimpleRNN ----

void simple_forward_simd(int64_t rows, int64_t u, int act, float* gates, int64_t ldg, float* h,
                         float* h_out, int64_t ldh_out, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
        const VF y = vact(act, ld(tag, g + j, n));
        st(tag, g + j, y, n);
        st(tag, hr + j, y, n);
      });
    }
    if (h_out) copy_row(h_out + r * ldh_out, hr, u);
  }
}

void simple_backward_simd(int64_t rows, int64_t u, int act, const float* gates, int64_t ldg,
                          const float* dh_out, int64_t ldh_out, float* dh, float* dg,
                          int64_t lddg, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* d = dg + r * lddg;
    const float* g = gates + r * ldg;
    const float* dor = dh_out ? dh_out + r * ldh_out : nullptr;
    const bool real = real_row(mask, ld_mask, r);
    for_lanes(u, [&](int64_t j, int64_t n, auto tag) {
      VF x = ld(tag, dhr + j, n);
      if (dor) x = vadd(x, ld(tag, dor + j, n));
      if (!real) {
        st(tag, dhr + j, x, n);
        st(tag, d + j, vzero(), n);
        return;
      }
      st(tag, d + j, vmul(x, vact_d(act, ld(tag, g + j, n))), n);
      st(tag, dhr + j, vzero(), n);
    });
  }
}

}  // namespace

#define NNFAST_RNN_KERNEL_SET(NAME)                                                         \
  {NAME,                gemm_simd,           lstm_forward_simd,   lstm_backward_simd,       \
   gru_forward_simd,    gru_backward_simd,   gru_forward_a_simd,  gru_forward_b_simd,       \
   gru_backward_a_simd, gru_backward_b_simd, simple_forward_simd, simple_backward_simd}
