// Per-ISA code in nnfast is written in exactly two idioms. Pick by what the loop needs:
//
// 1. Compiler-vectorised loops: `<family>_impl.h`. The body is a plain C loop (contiguous,
//    no calls, branches the compiler can turn into selects) in an anonymous namespace; a
//    NNFAST_DEFINE_<FAMILY>(isa) macro at its end wraps it in the exported per-ISA functions,
//    and each `<family>_<isa>.cpp` is that one macro line, compiled with the ISA's flags
//    (cpp/CMakeLists.txt). The `_ref` file is the same loop without flags: the reference.
//    Use it for elementwise streams, reductions and updates that GCC vectorises well
//    (norm, pool, softmax, optimizer updates, resize, epilogue clamps...).
//
// 2. Hand-vectorised bodies over the shared vocabulary: `<family>_simd_body.h`, written once
//    with the names below and included after `kernels/simd_<isa>.h` by `<family>_avx2.cpp`
//    and `<family>_avx512.cpp`. Use it when the compiler cannot vectorise the loop by itself:
//    transcendental functions (exp, log, tanh, erf: libm calls block vectorisation), masked
//    tails, register tiles, lane selects. The reference stays a separate scalar file.
//
// ISA-specific units get a vocabulary name of their own in simd_<isa>.h, the same name on
// every ISA that has them (vdot_s8_pair: vpmaddwd on int8 tap pairs, depthwise_int8).
// Written on the vocabulary: both GEMM micro-kernels and the AVX-512 packing, both small-GEMM
// kernels, the int8 depthwise kernel and its AVX-512 quantizer, both ISAs' conv tiles (and
// AVX-512's direct and fused conv + relu + max-pool kernels, conv_pool_avx512.cpp), max
// pooling (pool_simd_body.h), dropout and its stored keep bits, and resize_avx512. Raw
// intrinsics outside simd_<isa>.h remain in: the AMX/VNNI/BF16 dot-product units
// (gemm_bf16_*, gemm_int8_*, bf16_convert_avx512.h), the float <-> bf16/fp16 converters
// (convert_*) and top_k's SSE2 prefilter (ops/topk.cpp: compiled for baseline x86-64, which
// has no vocabulary; moving it means a per-ISA top_k block family).
//
// The vocabulary (simd_avx512.h: 16 lanes, simd_avx2.h: 8 lanes; same names, same meaning):
//   VF (float lanes), VI (int32 lanes), VM (lane mask), W (lanes per vector);
//   vzero, vset1, vlane_index (0, 1, ..., W-1), vload, vstore, vload_n / vstore_n (first n lanes; loads zero the rest);
//   vload_m / vstore_m (the lanes of a mask made once, e.g. vfirst(n), outside a loop);
//   vdot_s8_pair(x0, x1, w) (int8 tap pairs times int16 weight pairs, exact int32 lanes);
//   vi_load_m(p, m) (int32 lanes), vgather_m(base, idx, m) (base[idx[i]], other lanes 0),
//   vprefetch(p) (the cache line at p); AVX-512 only: vpermute2(x0, idx, x1) (lane i of x0
//   then x1 at idx[i] < 2W), vtranspose(r[W]) (a W x W block in registers),
//   vstore_s8_sat(p, v) (W int32 lanes saturated to int8 bytes); vi_select(m, a, b),
//   vi_eq(a, b) (int32 lanes); AVX-512 only: vi_load_u8_m(p, m) / vstore_u8_m(p, v, m) (bytes
//   zero-extended to / truncated from int32 lanes);
//   vadd, vsub, vmul, vdiv, vfmadd(a, b, c) = a*b + c, vfnmadd(a, b, c) = c - a*b,
//   vmin, vmax (NaN in the SECOND operand comes out: put constants first to keep NaN),
//   vsqrt, vabs, vround (to nearest); vgt, vge, vlt, vle, veq, vne, visnan -> VM;
//   vfirst(n) (first n lanes, 0 <= n <= W), vmovemask (lane i -> bit i), vm_from_bits (its
//   inverse), vm_and, vm_or, vi_gt(a, b) (int32 lanes a > b),
//   vselect(m, a, b) = m ? a : b, vkeep(m, x) = m ? x : 0;
//   vreduce_add, vreduce_max; vbits / vfrom_bits, vi_* integer lane ops;
//   VU (W/2 64-bit lanes) with vu_set1, vu_lane_ids, vu_add, vu_xor, vu_shr<k>, vu_mullo and
//   vf_from_u64_low(a, b) (the W low halves as floats), for counter-based random numbers.
// and, written once below over those: Full/Tail tags with ld/st/ld_fill/keep_lanes and
// for_lanes (whole vectors then one masked tail), for_lanes_aligned (a masked head first, so
// whole-vector stores are aligned), clamp_lanes, vkeep_gt, vexp, vexpm1, vlog,
// vlog1p, vtanh, vsigmoid, vnormal_cdf.
// Everything has internal linkage, so each ISA file gets its own copy compiled with its own
// flags. No std:: templates (see cpp/CMakeLists.txt).
#pragma once

namespace nnfast::kernels {
namespace {

// (a > b) ? x : 0 per lane.
inline VF vkeep_gt(VF a, VF b, VF x) { return vkeep(vgt(a, b), x); }

struct Full {};
struct Tail {};
inline VF ld(Full, const float* p, int64_t) { return vload(p); }
inline VF ld(Tail, const float* p, int64_t n) { return vload_n(p, n); }
inline void st(Full, float* p, VF v, int64_t) { vstore(p, v); }
inline void st(Tail, float* p, VF v, int64_t n) { vstore_n(p, v, n); }
// Lanes past a tail's end as `fill` (a reduction's identity: -inf for a max) / as 0 (a sum's).
inline VF ld_fill(Full, const float* p, int64_t, VF) { return vload(p); }
inline VF ld_fill(Tail, const float* p, int64_t n, VF fill) {
  return vselect(vfirst(n), vload_n(p, n), fill);
}
inline VF keep_lanes(Full, VF v, int64_t) { return v; }
inline VF keep_lanes(Tail, VF v, int64_t n) { return vkeep(vfirst(n), v); }

// n clamped to [0, W]: the lane count of a vector starting n values before a block's end.
inline int64_t clamp_lanes(int64_t n) { return n <= 0 ? 0 : (n >= W ? int64_t(W) : n); }

// Calls f(j, n, Full{}) for each whole vector of [0, u) and f(j, n, Tail{}) for the rest.
template <typename F>
inline void for_lanes(int64_t u, F&& f) {
  int64_t j = 0;
  for (; j + W <= u; j += W) f(j, int64_t(W), Full{});
  if (j < u) f(j, u - j, Tail{});
}

// As for_lanes, with the whole vectors aligned to a vector's size at `anchor` (the array the
// loop stores to): first a masked head up to that boundary, then whole vectors, then the
// tail. For long rows whose length is not a multiple of W, where every other vector store
// would otherwise split a cache line.
template <typename F>
inline void for_lanes_aligned(const float* anchor, int64_t u, F&& f) {
  const int64_t misalign = static_cast<int64_t>(reinterpret_cast<uintptr_t>(anchor) %
                                                (W * sizeof(float))) / int64_t(sizeof(float));
  int64_t j = misalign == 0 ? 0 : (W - misalign < u ? W - misalign : u);
  if (j > 0) f(int64_t(0), j, Tail{});
  for (; j + W <= u; j += W) f(j, int64_t(W), Full{});
  if (j < u) f(j, u - j, Tail{});
}

// exp(x), within 2 ulp: x = n ln2 + r with |r| <= ln2/2 (ln2 in two parts so r is exact),
// a degree-6 polynomial for exp(r), times 2^n built in the exponent bits. Overflows to inf
// above ln(FLT_MAX), 0 below ln(FLT_MIN) (no denormals); NaN stays NaN.
inline VF vexp(VF x) {
  const VF hi = vset1(88.72283905206835f), lo = vset1(-87.33654475055310f);
  const VF xc = vmax(lo, vmin(hi, x));
  // n at most 127 so 2^n stays a normal float; the polynomial then covers r up to ~0.7.
  const VF n = vmin(vset1(127.0f), vround(vmul(xc, vset1(1.44269504088896341f))));
  VF r = vfnmadd(n, vset1(0.693359375f), xc);
  r = vfnmadd(n, vset1(-2.12194440e-4f), r);
  VF p = vset1(1.9875691500e-4f);
  p = vfmadd(p, r, vset1(1.3981999507e-3f));
  p = vfmadd(p, r, vset1(8.3334519073e-3f));
  p = vfmadd(p, r, vset1(4.1665795894e-2f));
  p = vfmadd(p, r, vset1(1.6666665459e-1f));
  p = vfmadd(p, r, vset1(5.0000001201e-1f));
  p = vfmadd(p, vmul(r, r), vadd(r, vset1(1.0f)));
  const VF scale = vfrom_bits(vi_shl<23>(vi_add(vi_from_f(n), vi_set1(127))));
  VF y = vmul(p, scale);
  y = vselect(vgt(x, hi), vset1(__builtin_inff()), y);
  y = vselect(vlt(x, lo), vzero(), y);
  return vselect(visnan(x), x, y);
}

// log(x), within 2 ulp for normal x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9
// polynomial in m - 1. log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN stays NaN.
inline VF vlog(VF x) {
  const VF one = vset1(1.0f);
  const VF xc = vmax(vset1(1.17549435e-38f), x);  // smallest normal: denormals as it
  const VI bits = vbits(xc);
  VF e = vf_from_i(vi_sub(vi_shr<23>(bits), vi_set1(126)));
  // mantissa in [0.5, 1)
  VF m = vfrom_bits(vi_or(vi_and(bits, vi_set1(0x007fffff)), vi_set1(0x3f000000)));
  const VM small = vlt(m, vset1(0.707106781186547524f));
  e = vsub(e, vkeep(small, one));
  m = vsub(vadd(m, vkeep(small, m)), one);
  const VF z = vmul(m, m);
  VF p = vset1(7.0376836292e-2f);
  p = vfmadd(p, m, vset1(-1.1514610310e-1f));
  p = vfmadd(p, m, vset1(1.1676998740e-1f));
  p = vfmadd(p, m, vset1(-1.2420140846e-1f));
  p = vfmadd(p, m, vset1(1.4249322787e-1f));
  p = vfmadd(p, m, vset1(-1.6668057665e-1f));
  p = vfmadd(p, m, vset1(2.0000714765e-1f));
  p = vfmadd(p, m, vset1(-2.4999993993e-1f));
  p = vfmadd(p, m, vset1(3.3333331174e-1f));
  VF y = vmul(vmul(p, m), z);
  y = vfmadd(e, vset1(-2.12194440e-4f), y);
  y = vfnmadd(vset1(0.5f), z, y);
  y = vfmadd(e, vset1(0.693359375f), vadd(m, y));
  y = vselect(veq(x, vset1(__builtin_inff())), x, y);
  y = vselect(veq(x, vzero()), vset1(-__builtin_inff()), y);
  y = vselect(vlt(x, vzero()), vset1(__builtin_nanf("")), y);
  return vselect(visnan(x), x, y);
}

// log(1 + t) for t > -1, accurate for tiny t too: with u = 1 + t rounded, log(u) * t / (u - 1)
// cancels u's rounding error (Goldberg's trick); where u == 1, log1p(t) = t.
inline VF vlog1p(VF t) {
  const VF u = vadd(vset1(1.0f), t);
  const VF d = vsub(u, vset1(1.0f));
  const VF r = vmul(vlog(u), vdiv(t, vselect(veq(d, vzero()), vset1(1.0f), d)));
  return vselect(veq(d, vzero()), t, vselect(veq(u, vset1(__builtin_inff())), u, r));
}

// exp(x) - 1, accurate near 0 (Kahan's trick: (u - 1) * x / log(u) with u = exp(x)).
inline VF vexpm1(VF x) {
  const VF u = vexp(x);
  const VF d = vsub(u, vset1(1.0f));
  const VF l = vlog(u);
  const VF r = vmul(d, vdiv(x, vselect(veq(l, vzero()), vset1(1.0f), l)));
  VF y = vselect(veq(u, vset1(1.0f)), x, r);
  y = vselect(veq(d, vset1(-1.0f)), d, y);                     // exp underflowed
  return vselect(veq(u, vset1(__builtin_inff())), u, y);       // exp overflowed
}

// tanh(x): Eigen's rational approximation (odd 13/6 polynomial ratio, clamped at +-7.905,
// where it is +-1 in float), within 4 ulp and relative-accurate near 0; TensorFlow's float32
// tanh is this form too. NOTE: 1 - 2/(exp(2|x|) + 1) with a polynomial below 0.625 was
// within 1.4 ulp but 2.4x slower (8.1 vs 3.4 us per 16384 values, AVX-512), slower than
// NumPy's tanh: not kept.
inline VF vtanh(VF x) {
  const VF lim = vset1(7.90531110763549805f);
  x = vmax(vsub(vzero(), lim), vmin(lim, x));  // constants first: NaN stays NaN
  const VF x2 = vmul(x, x);
  VF p = vfmadd(x2, vset1(-2.76076847742355e-16f), vset1(2.00018790482477e-13f));
  p = vfmadd(x2, p, vset1(-8.60467152213735e-11f));
  p = vfmadd(x2, p, vset1(5.12229709037114e-08f));
  p = vfmadd(x2, p, vset1(1.48572235717979e-05f));
  p = vfmadd(x2, p, vset1(6.37261928875436e-04f));
  p = vfmadd(x2, p, vset1(4.89352455891786e-03f));
  p = vmul(x, p);
  VF q = vfmadd(x2, vset1(1.19825839466702e-06f), vset1(1.18534705686654e-04f));
  q = vfmadd(x2, q, vset1(2.26843463243900e-03f));
  q = vfmadd(x2, q, vset1(4.89352518554385e-03f));
  return vdiv(p, q);
}

// 1 / (1 + exp(-x)), relative-accurate on both tails: with e = exp(-|x|) <= 1, 1/(1+e) for
// x >= 0 and e/(1+e) below (no cancellation, no overflow).
inline VF vsigmoid(VF x) {
  const VF e = vexp(vsub(vzero(), vabs(x)));
  const VF inv = vdiv(vset1(1.0f), vadd(vset1(1.0f), e));
  return vselect(vge(x, vzero()), inv, vmul(e, inv));
}

// The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, relative-accurate on the lower tail
// (GELU's): erfc(z) for z >= 0 as t exp(-z^2 + P(t)), t = 1 / (1 + z/2), with the Chebyshev
// fit of Numerical Recipes' erfcc (fractional error < 1.2e-7); Phi(x) = 1 - Phi(-x) above 0.
inline VF vnormal_cdf(VF x) {
  const VF z = vmul(vabs(x), vset1(0.70710678118654752f));
  const VF t = vdiv(vset1(1.0f), vfmadd(vset1(0.5f), z, vset1(1.0f)));
  VF p = vset1(0.17087277f);
  p = vfmadd(p, t, vset1(-0.82215223f));
  p = vfmadd(p, t, vset1(1.48851587f));
  p = vfmadd(p, t, vset1(-1.13520398f));
  p = vfmadd(p, t, vset1(0.27886807f));
  p = vfmadd(p, t, vset1(-0.18628806f));
  p = vfmadd(p, t, vset1(0.09678418f));
  p = vfmadd(p, t, vset1(0.37409196f));
  p = vfmadd(p, t, vset1(1.00002368f));
  p = vfmadd(p, t, vset1(-1.26551223f));
  // -z^2 as -(x/2) x in one rounding (x/2 is exact): z's own rounding would cost 8 ulp here.
  const VF half_erfc = vmul(vset1(0.5f), vmul(t, vexp(vfnmadd(vmul(vset1(0.5f), x), x, p))));
  return vselect(vgt(x, vzero()), vsub(vset1(1.0f), half_erfc), half_erfc);
}

}  // namespace
}  // namespace nnfast::kernels
