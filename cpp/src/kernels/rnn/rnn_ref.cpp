// Scalar reference recurrent kernels: plain loops, libm tanh/exp. Always compiled; the
// vectorized variants are tested against these.
#include <math.h>

#include "kernels/rnn/rnn_kernels.h"

namespace nnfast::kernels {
namespace {

// Activation ids of nnfast::Activation (activation.h).
enum : int { kLinear = 0, kRelu = 1, kSigmoid = 2, kTanh = 3, kHardSigmoid = 12 };

inline float act_f(int act, float x) {
  switch (act) {
    case kTanh: return tanhf(x);
    case kSigmoid: return 1.0f / (1.0f + expf(-x));
    case kHardSigmoid: {
      float y = x * (1.0f / 6.0f) + 0.5f;
      return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
    }
    case kRelu: return x > 0.0f ? x : 0.0f;
    default: return x;
  }
}

// Derivative expressed through the output y = f(x).
inline float act_d(int act, float y) {
  switch (act) {
    case kTanh: return 1.0f - y * y;
    case kSigmoid: return y * (1.0f - y);
    case kHardSigmoid: return (y > 0.0f && y < 1.0f) ? (1.0f / 6.0f) : 0.0f;
    case kRelu: return y > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
  }
}

inline bool real_row(const uint8_t* mask, int64_t ld, int64_t r) {
  return mask == nullptr || mask[r * ld] != 0;
}

void gemm_ref(int64_t rows, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
              int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    for (int64_t j = 0; j < n; ++j) {
      float s = accumulate ? cr[j] : 0.0f;
      for (int64_t p = 0; p < k; ++p) s += a[r * lda + p] * b[p * ldb + j];
      cr[j] = s;
    }
  }
}

void lstm_forward_ref(int64_t rows, int64_t u, int act, int rec_act, float* gates, int64_t ldg,
                      float* c, float* h, float* h_out, int64_t ldh_out, float* c_save,
                      int64_t ldc_save, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* cr = c + r * u;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) {
        const float i = act_f(rec_act, g[j]);
        const float f = act_f(rec_act, g[u + j]);
        const float gg = act_f(act, g[2 * u + j]);
        const float o = act_f(rec_act, g[3 * u + j]);
        g[j] = i;
        g[u + j] = f;
        g[2 * u + j] = gg;
        g[3 * u + j] = o;
        const float cn = f * cr[j] + i * gg;
        cr[j] = cn;
        hr[j] = o * act_f(act, cn);
      }
    }
    if (h_out)
      for (int64_t j = 0; j < u; ++j) h_out[r * ldh_out + j] = hr[j];
    if (c_save)
      for (int64_t j = 0; j < u; ++j) c_save[r * ldc_save + j] = cr[j];
  }
}

void lstm_backward_ref(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                       int64_t ldg, const float* c_t, int64_t ldc_t, const float* c_prev,
                       int64_t ldc_prev, const float* dh_out, int64_t ldh_out, float* dh,
                       float* dc, float* dgates, int64_t lddg, const uint8_t* mask,
                       int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* dcr = dc + r * u;
    float* dg = dgates + r * lddg;
    if (dh_out)
      for (int64_t j = 0; j < u; ++j) dhr[j] += dh_out[r * ldh_out + j];
    if (!real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < 4 * u; ++j) dg[j] = 0.0f;
      continue;
    }
    const float* g = gates + r * ldg;
    for (int64_t j = 0; j < u; ++j) {
      const float i = g[j], f = g[u + j], gg = g[2 * u + j], o = g[3 * u + j];
      const float ct = c_t[r * ldc_t + j];
      const float cp = c_prev ? c_prev[r * ldc_prev + j] : 0.0f;
      const float tc = act_f(act, ct);
      const float dho = dhr[j];
      const float dct = dcr[j] + dho * o * act_d(act, tc);
      dg[j] = dct * gg * act_d(rec_act, i);
      dg[u + j] = dct * cp * act_d(rec_act, f);
      dg[2 * u + j] = dct * i * act_d(act, gg);
      dg[3 * u + j] = dho * tc * act_d(rec_act, o);
      dcr[j] = dct * f;
      dhr[j] = 0.0f;
    }
  }
}

void gru_forward_ref(int64_t rows, int64_t u, int act, int rec_act, float* gates, int64_t ldg,
                     const float* rec, int64_t ldr, const float* rec_bias, float* h,
                     float* h_out, int64_t ldh_out, float* hrh_save, int64_t ldhrh,
                     const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    const float* rr = rec + r * ldr;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) {
        const float bz = rec_bias ? rec_bias[j] : 0.0f;
        const float br = rec_bias ? rec_bias[u + j] : 0.0f;
        const float bh = rec_bias ? rec_bias[2 * u + j] : 0.0f;
        const float z = act_f(rec_act, g[j] + rr[j] + bz);
        const float rg = act_f(rec_act, g[u + j] + rr[u + j] + br);
        const float hrh = rr[2 * u + j] + bh;
        const float hh = act_f(act, g[2 * u + j] + rg * hrh);
        g[j] = z;
        g[u + j] = rg;
        g[2 * u + j] = hh;
        if (hrh_save) hrh_save[r * ldhrh + j] = hrh;
        hr[j] = z * hr[j] + (1.0f - z) * hh;
      }
    }
    if (h_out)
      for (int64_t j = 0; j < u; ++j) h_out[r * ldh_out + j] = hr[j];
  }
}

void gru_backward_ref(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                      int64_t ldg, const float* hrh, int64_t ldhrh, const float* h_prev,
                      int64_t ldh_prev, const float* dh_out, int64_t ldh_out, float* dh,
                      float* dgx, float* dgh, int64_t lddg, const uint8_t* mask,
                      int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* gx = dgx + r * lddg;
    float* gh = dgh + r * lddg;
    if (dh_out)
      for (int64_t j = 0; j < u; ++j) dhr[j] += dh_out[r * ldh_out + j];
    if (!real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < 3 * u; ++j) gx[j] = gh[j] = 0.0f;
      continue;
    }
    const float* g = gates + r * ldg;
    for (int64_t j = 0; j < u; ++j) {
      const float z = g[j], rg = g[u + j], hh = g[2 * u + j];
      const float hp = h_prev ? h_prev[r * ldh_prev + j] : 0.0f;
      const float d = dhr[j];
      const float dz = d * (hp - hh) * act_d(rec_act, z);
      const float dhh = d * (1.0f - z) * act_d(act, hh);
      const float hr = hrh[r * ldhrh + j];
      const float dr = dhh * hr * act_d(rec_act, rg);
      gx[j] = gh[j] = dz;
      gx[u + j] = gh[u + j] = dr;
      gx[2 * u + j] = dhh;
      gh[2 * u + j] = dhh * rg;
      dhr[j] = d * z;
    }
  }
}

void gru_forward_a_ref(int64_t rows, int64_t u, int rec_act, float* gates, int64_t ldg,
                       const float* hm, float* rh, int64_t ldrh) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    for (int64_t j = 0; j < 2 * u; ++j) g[j] = act_f(rec_act, g[j]);
    for (int64_t j = 0; j < u; ++j) rh[r * ldrh + j] = g[u + j] * (hm ? hm[r * u + j] : 0.0f);
  }
}

void gru_forward_b_ref(int64_t rows, int64_t u, int act, float* gates, int64_t ldg, float* h,
                       float* h_out, int64_t ldh_out, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) {
        const float hh = act_f(act, g[2 * u + j]);
        g[2 * u + j] = hh;
        hr[j] = g[j] * hr[j] + (1.0f - g[j]) * hh;
      }
    }
    if (h_out)
      for (int64_t j = 0; j < u; ++j) h_out[r * ldh_out + j] = hr[j];
  }
}

void gru_backward_a_ref(int64_t rows, int64_t u, int act, int rec_act, const float* gates,
                        int64_t ldg, const float* h_prev, int64_t ldh_prev, const float* dh_out,
                        int64_t ldh_out, float* dh, float* dg, int64_t lddg,
                        const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* d = dg + r * lddg;
    if (dh_out)
      for (int64_t j = 0; j < u; ++j) dhr[j] += dh_out[r * ldh_out + j];
    if (!real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < 3 * u; ++j) d[j] = 0.0f;
      continue;
    }
    const float* g = gates + r * ldg;
    for (int64_t j = 0; j < u; ++j) {
      const float z = g[j], hh = g[2 * u + j];
      const float hp = h_prev ? h_prev[r * ldh_prev + j] : 0.0f;
      d[j] = dhr[j] * (hp - hh) * act_d(rec_act, z);
      d[2 * u + j] = dhr[j] * (1.0f - z) * act_d(act, hh);
      dhr[j] *= z;
    }
  }
}

void gru_backward_b_ref(int64_t rows, int64_t u, int rec_act, const float* gates, int64_t ldg,
                        const float* hm, const float* drh, float* dg, int64_t lddg, float* dhm,
                        const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dg + r * lddg;
    if (!real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) d[u + j] = dhm[r * u + j] = 0.0f;
      continue;
    }
    const float* g = gates + r * ldg;
    for (int64_t j = 0; j < u; ++j) {
      const float rg = g[u + j];
      const float x = drh[r * u + j];
      d[u + j] = x * (hm ? hm[r * u + j] : 0.0f) * act_d(rec_act, rg);
      dhm[r * u + j] = x * rg;
    }
  }
}

void simple_forward_ref(int64_t rows, int64_t u, int act, float* gates, int64_t ldg, float* h,
                        float* h_out, int64_t ldh_out, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* g = gates + r * ldg;
    float* hr = h + r * u;
    if (real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) hr[j] = g[j] = act_f(act, g[j]);
    }
    if (h_out)
      for (int64_t j = 0; j < u; ++j) h_out[r * ldh_out + j] = hr[j];
  }
}

void simple_backward_ref(int64_t rows, int64_t u, int act, const float* gates, int64_t ldg,
                         const float* dh_out, int64_t ldh_out, float* dh, float* dg,
                         int64_t lddg, const uint8_t* mask, int64_t ld_mask) {
  for (int64_t r = 0; r < rows; ++r) {
    float* dhr = dh + r * u;
    float* d = dg + r * lddg;
    if (dh_out)
      for (int64_t j = 0; j < u; ++j) dhr[j] += dh_out[r * ldh_out + j];
    if (!real_row(mask, ld_mask, r)) {
      for (int64_t j = 0; j < u; ++j) d[j] = 0.0f;
      continue;
    }
    const float* g = gates + r * ldg;
    for (int64_t j = 0; j < u; ++j) {
      d[j] = dhr[j] * act_d(act, g[j]);
      dhr[j] = 0.0f;
    }
  }
}

}  // namespace

const RnnKernelSet rnn_kernels_ref = {
    "f32_rnn_ref",     gemm_ref,           lstm_forward_ref,   lstm_backward_ref,
    gru_forward_ref,   gru_backward_ref,   gru_forward_a_ref,  gru_forward_b_ref,
    gru_backward_a_ref, gru_backward_b_ref, simple_forward_ref, simple_backward_ref,
};

}  // namespace nnfast::kernels
