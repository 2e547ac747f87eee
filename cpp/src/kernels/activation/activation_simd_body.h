// The vectorized elementwise activations and their gradients, written once over the shared
// vector vocabulary (kernels/simd_math.h) that activation_avx2.cpp / activation_avx512.cpp
// include first. Same definitions as activation_ref.cpp (the reference they are tested
// against): exp/log/tanh/erf are the vocabulary's approximations (a few ulp), NaN inputs give
// what the reference gives. The switch on the activation runs once per call, outside the loop.
#pragma once
#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr float kSeluAlphaV = 1.6732632423543772f;
constexpr float kSeluScaleV = 1.0507009873554805f;
constexpr float kSqrt2OverPiV = 0.7978845608028654f;

// dst[i] = f(src[i]) for all i (src == dst allowed: each vector is loaded before stored).
template <typename F>
inline void map_forward(const float* src, float* dst, int64_t n, F&& f) {
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) { st(tag, dst + j, f(ld(tag, src + j, m)), m); });
}

// dsrc[i] = ddst[i] * g(x, y) with y = f(x) the stored output.
template <typename Grad>
inline void map_backward(const float* src, const float* dst, const float* ddst, float* dsrc,
                         int64_t n, Grad&& grad) {
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) {
    const VF g = grad(ld(tag, src + j, m), ld(tag, dst + j, m));
    st(tag, dsrc + j, vmul(ld(tag, ddst + j, m), g), m);
  });
}

// dsrc[i] = ddst[i] * g(y) from the output alone.
template <typename Grad>
inline void map_backward_from_output(const float* dst, const float* ddst, float* dsrc,
                                     int64_t n, Grad&& grad) {
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) {
    st(tag, dsrc + j, vmul(ld(tag, ddst + j, m), grad(ld(tag, dst + j, m))), m);
  });
}

// hard_sigmoid's clip(x/6 + 1/2, 0, 1); a NaN goes to 0 as fmax/fmin do in the reference.
inline VF vhard_sigmoid(VF x) {
  const VF v = vadd(vdiv(x, vset1(6.0f)), vset1(0.5f));
  return vmin(vmax(v, vzero()), vset1(1.0f));
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
inline VF vsoftplus(VF x) {
  return vadd(vkeep_gt(x, vzero(), x), vlog1p(vexp(vsub(vzero(), vabs(x)))));
}

// Keras relu(x, negative_slope, max_value, threshold), as relu_forward in the reference.
inline VF vrelu(VF x, VF thr, VF alpha, VF cap, bool capped) {
  VF pos = vkeep_gt(x, thr, x);
  if (capped) pos = vmin(vmax(pos, vzero()), cap);
  const VF below = vsub(thr, x);
  return vfnmadd(alpha, vkeep_gt(below, vzero(), below), pos);
}

// Calls body(fwd) with the forward of `act` as a vector lambda; returns false for an id the
// switch does not know (the caller falls back to the reference, which rejects nothing).
template <typename Body>
inline bool with_forward(Activation act, const ActivationParams& p, Body&& body) {
  const VF zero = vzero(), one = vset1(1.0f);
  const VF alpha = vset1(p.alpha);
  switch (act) {
    case Activation::linear: body([](VF x) { return x; }); return true;
    case Activation::relu: {
      const VF thr = vset1(p.threshold), cap = vset1(p.max_value);
      const bool capped = p.max_value < __builtin_inff();
      if (p.alpha == 0.0f && p.threshold == 0.0f) {
        if (capped) body([=](VF x) { return vmin(vkeep_gt(x, zero, x), cap); });
        else body([=](VF x) { return vkeep_gt(x, zero, x); });
      } else {
        body([=](VF x) { return vrelu(x, thr, alpha, cap, capped); });
      }
      return true;
    }
    case Activation::sigmoid: body([](VF x) { return vsigmoid(x); }); return true;
    case Activation::tanh: body([](VF x) { return vtanh(x); }); return true;
    case Activation::elu:
      body([=](VF x) { return vselect(vgt(x, zero), x, vmul(alpha, vexpm1(x))); });
      return true;
    case Activation::selu: {
      const VF s = vset1(kSeluScaleV), sa = vset1(kSeluScaleV * kSeluAlphaV);
      body([=](VF x) { return vselect(vgt(x, zero), vmul(s, x), vmul(sa, vexpm1(x))); });
      return true;
    }
    case Activation::softplus: body([](VF x) { return vsoftplus(x); }); return true;
    case Activation::softsign:
      body([=](VF x) { return vdiv(x, vadd(one, vabs(x))); });
      return true;
    case Activation::swish: body([](VF x) { return vmul(x, vsigmoid(x)); }); return true;
    case Activation::gelu: body([](VF x) { return vmul(x, vnormal_cdf(x)); }); return true;
    case Activation::gelu_tanh: {
      // 0.5 x (1 + tanh u) = x sigmoid(2u): relative-accurate on the negative tail, where
      // 1 + tanh u cancels.
      const VF c2 = vset1(2.0f * kSqrt2OverPiV), k = vset1(0.044715f);
      body([=](VF x) { return vmul(x, vsigmoid(vmul(c2, vfmadd(vmul(k, x), vmul(x, x), x)))); });
      return true;
    }
    case Activation::exponential: body([](VF x) { return vexp(x); }); return true;
    case Activation::hard_sigmoid: body([](VF x) { return vhard_sigmoid(x); }); return true;
    case Activation::relu6: {
      const VF six = vset1(6.0f);
      body([=](VF x) { return vmin(vkeep_gt(x, zero, x), six); });
      return true;
    }
    case Activation::leaky_relu:
      body([=](VF x) { return vselect(vgt(x, zero), x, vmul(alpha, x)); });
      return true;
    case Activation::hard_silu: body([](VF x) { return vmul(x, vhard_sigmoid(x)); }); return true;
    case Activation::mish:
      body([](VF x) { return vmul(x, vtanh(vsoftplus(x))); });
      return true;
  }
  return false;
}

// The gradient g(x, y) of `act` (y = f(x)) as a vector lambda, passed to body(grad).
template <typename Body>
inline bool with_gradient(Activation act, const ActivationParams& p, Body&& body) {
  const VF zero = vzero(), one = vset1(1.0f), half = vset1(0.5f);
  const VF alpha = vset1(p.alpha);
  switch (act) {
    case Activation::linear: body([=](VF, VF) { return one; }); return true;
    case Activation::relu: {
      const VF thr = vset1(p.threshold), cap = vset1(p.max_value);
      const bool capped = p.max_value < __builtin_inff();
      body([=](VF x, VF) {
        VF above = one;
        if (capped) above = vkeep(vm_and(vgt(x, zero), vlt(x, cap)), one);
        return vadd(vkeep_gt(x, thr, above), vkeep(vlt(x, thr), alpha));
      });
      return true;
    }
    case Activation::sigmoid: body([=](VF, VF y) { return vmul(y, vsub(one, y)); }); return true;
    case Activation::tanh: body([=](VF, VF y) { return vfnmadd(y, y, one); }); return true;
    case Activation::elu:
      body([=](VF x, VF y) { return vselect(vgt(x, zero), one, vadd(y, alpha)); });
      return true;
    case Activation::selu: {
      const VF s = vset1(kSeluScaleV), sa = vset1(kSeluScaleV * kSeluAlphaV);
      body([=](VF x, VF y) { return vselect(vgt(x, zero), s, vadd(y, sa)); });
      return true;
    }
    case Activation::softplus: body([](VF x, VF) { return vsigmoid(x); }); return true;
    case Activation::softsign:
      body([=](VF x, VF) {
        const VF d = vadd(one, vabs(x));
        return vdiv(one, vmul(d, d));
      });
      return true;
    case Activation::swish:
      body([=](VF x, VF) {
        const VF s = vsigmoid(x);
        return vmul(s, vfmadd(x, vsub(one, s), one));
      });
      return true;
    case Activation::gelu: {
      const VF inv_sqrt_2pi = vset1(0.3989422804014327f), mhalf = vset1(-0.5f);
      body([=](VF x, VF) {
        const VF pdf = vmul(inv_sqrt_2pi, vexp(vmul(mhalf, vmul(x, x))));
        return vfmadd(x, pdf, vnormal_cdf(x));
      });
      return true;
    }
    case Activation::gelu_tanh: {
      // With s = sigmoid(2u) (so 1 + tanh u = 2s, 1 - tanh^2 u = 4s(1 - s)):
      // d/dx [x s] = s + 2 x s (1 - s) du/dx.
      const VF c = vset1(kSqrt2OverPiV), c2 = vset1(2.0f * kSqrt2OverPiV);
      const VF k = vset1(0.044715f), k3 = vset1(3.0f * 0.044715f), two = vset1(2.0f);
      body([=](VF x, VF) {
        const VF x2 = vmul(x, x);
        const VF s = vsigmoid(vmul(c2, vfmadd(vmul(k, x), x2, x)));
        const VF du = vmul(c, vfmadd(k3, x2, one));
        return vfmadd(vmul(vmul(two, x), vmul(s, vsub(one, s))), du, s);
      });
      return true;
    }
    case Activation::exponential: body([](VF, VF y) { return y; }); return true;
    case Activation::hard_sigmoid: {
      const VF lo = vset1(-3.0f), hi = vset1(3.0f), sixth = vset1(1.0f / 6.0f);
      body([=](VF x, VF) { return vkeep(vm_and(vgt(x, lo), vlt(x, hi)), sixth); });
      return true;
    }
    case Activation::relu6: {
      const VF six = vset1(6.0f);
      body([=](VF x, VF) { return vkeep(vm_and(vgt(x, zero), vlt(x, six)), one); });
      return true;
    }
    case Activation::leaky_relu:
      body([=](VF x, VF) { return vselect(vgt(x, zero), one, alpha); });
      return true;
    case Activation::hard_silu: {
      const VF lo = vset1(-3.0f), hi = vset1(3.0f);
      body([=](VF x, VF) {
        const VF mid = vadd(vdiv(x, hi), half);
        return vselect(vle(x, lo), zero, vselect(vge(x, hi), one, mid));
      });
      return true;
    }
    case Activation::mish:
      body([=](VF x, VF) {
        const VF t = vtanh(vsoftplus(x));
        return vfmadd(vmul(x, vfnmadd(t, t, one)), vsigmoid(x), t);
      });
      return true;
  }
  return false;
}

// Gradient from the output alone (the activations activation_needs_input() says allow it).
template <typename Body>
inline bool with_gradient_from_output(Activation act, const ActivationParams& p, Body&& body) {
  const VF zero = vzero(), one = vset1(1.0f);
  switch (act) {
    case Activation::linear: body([=](VF) { return one; }); return true;
    case Activation::relu: {
      const VF cap = vset1(p.max_value);
      body([=](VF y) { return vkeep(vm_and(vgt(y, zero), vlt(y, cap)), one); });
      return true;
    }
    case Activation::sigmoid: body([=](VF y) { return vmul(y, vsub(one, y)); }); return true;
    case Activation::tanh: body([=](VF y) { return vfnmadd(y, y, one); }); return true;
    case Activation::elu: {
      const VF alpha = vset1(p.alpha);
      body([=](VF y) { return vselect(vgt(y, zero), one, vadd(y, alpha)); });
      return true;
    }
    case Activation::selu: {
      const VF s = vset1(kSeluScaleV), sa = vset1(kSeluScaleV * kSeluAlphaV);
      body([=](VF y) { return vselect(vgt(y, zero), s, vadd(y, sa)); });
      return true;
    }
    case Activation::exponential: body([](VF y) { return y; }); return true;
    case Activation::relu6: {
      const VF six = vset1(6.0f);
      body([=](VF y) { return vkeep(vm_and(vgt(y, zero), vlt(y, six)), one); });
      return true;
    }
    default: return false;
  }
}

inline void activation_forward_simd(Activation act, const ActivationParams& p, const float* src,
                                    float* dst, int64_t n) {
  if (act == Activation::linear) {
    if (src != dst) map_forward(src, dst, n, [](VF x) { return x; });
    return;
  }
  if (!with_forward(act, p, [&](auto f) { map_forward(src, dst, n, f); }))
    f32_activation_forward_ref(act, p, src, dst, n);
}

inline void activation_backward_simd(Activation act, const ActivationParams& p, const float* src,
                                     const float* dst, const float* ddst, float* dsrc,
                                     int64_t n) {
  bool done;
  if (src == nullptr) {
    done = with_gradient_from_output(
        act, p, [&](auto g) { map_backward_from_output(dst, ddst, dsrc, n, g); });
  } else if (dst != nullptr) {
    done = with_gradient(act, p, [&](auto g) { map_backward(src, dst, ddst, dsrc, n, g); });
  } else {
    // No stored output: recompute it block by block into a buffer that stays in L1.
    float y[512];
    done = with_gradient(act, p, [&](auto g) {
      for (int64_t b = 0; b < n; b += 512) {
        const int64_t len = n - b < 512 ? n - b : 512;
        activation_forward_simd(act, p, src + b, y, len);
        map_backward(src + b, y, ddst + b, dsrc + b, len, g);
      }
    });
  }
  if (!done) f32_activation_backward_ref(act, p, src, dst, ddst, dsrc, n);
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_ACTIVATION_SIMD(isa)                                                     \
  namespace nnfast::kernels {                                                                  \
  void f32_activation_forward_##isa(Activation act, const ActivationParams& p,                \
                                    const float* src, float* dst, int64_t n) {                 \
    activation_forward_simd(act, p, src, dst, n);                                              \
  }                                                                                            \
  void f32_activation_backward_##isa(Activation act, const ActivationParams& p,               \
                                     const float* src, const float* dst, const float* ddst,    \
                                     float* dsrc, int64_t n) {                                 \
    activation_backward_simd(act, p, src, dst, ddst, dsrc, n);                                 \
  }                                                                                            \
  }
