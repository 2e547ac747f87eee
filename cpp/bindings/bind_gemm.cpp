#include <limits>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bind_util.h"
#include "nnfast/gemm.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

nnfast::Bf16GemmVariant parse_bf16_variant(const std::string& name) {
  if (name == "best") return nnfast::Bf16GemmVariant::best;
  if (name == "amx") return nnfast::Bf16GemmVariant::amx;
  if (name == "avx512bf16") return nnfast::Bf16GemmVariant::avx512bf16;
  if (name == "via_f32") return nnfast::Bf16GemmVariant::via_f32;
  throw py::value_error("gemm: bf16_variant must be one of 'best', 'amx', 'avx512bf16', "
                        "'via_f32'. Received: bf16_variant=" + name);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, const py::array& c, bool trans_a, bool trans_b,
         float alpha, float beta, const py::object& bias, int activation, float act_alpha,
         float act_max, float act_threshold, const std::string& precision,
         const std::string& bf16_variant) {
        BufferScope scope("gemm");
        if (precision != "float32" && precision != "bfloat16")
          throw py::value_error("gemm: precision must be 'float32' or 'bfloat16'. Received: "
                                "precision=" + precision);
        const nnfast::Bf16GemmVariant variant = parse_bf16_variant(bf16_variant);
        require_ndim(a, 2, "gemm a");
        require_ndim(b, 2, "gemm b");
        require_ndim(c, 2, "gemm c");
        const float* pa = checked<float>(a, "gemm a");
        const float* pb = checked<float>(b, "gemm b");
        float* pc = checked<float>(c, "gemm c", true);
        const int64_t m_ = trans_a ? a.shape(1) : a.shape(0);
        const int64_t k = trans_a ? a.shape(0) : a.shape(1);
        const int64_t kb = trans_b ? b.shape(1) : b.shape(0);
        const int64_t n = trans_b ? b.shape(0) : b.shape(1);
        if (k != kb)
          throw py::value_error("gemm: inner dimensions differ: op(a) has shape (" +
                                std::to_string(m_) + ", " + std::to_string(k) + ") and op(b) (" +
                                std::to_string(kb) + ", " + std::to_string(n) +
                                ") from a " + shape_of(a) + ", b " + shape_of(b));
        require_shape(c, {m_, n}, "gemm c");
        nnfast::GemmEpilogue ep;
        ep.bias = checked_or_null<float>(bias, "gemm bias");
        if (ep.bias) require_shape(py::cast<py::array>(bias), {n}, "gemm bias");
        if (activation < 0 || activation > static_cast<int>(nnfast::Activation::mish))
          throw py::value_error("gemm: unknown activation id " + std::to_string(activation));
        ep.activation = static_cast<nnfast::Activation>(activation);
        ep.params.alpha = act_alpha;
        ep.params.max_value = act_max;
        ep.params.threshold = act_threshold;
        const nnfast::Trans ta = trans_a ? nnfast::Trans::T : nnfast::Trans::N;
        const nnfast::Trans tb = trans_b ? nnfast::Trans::T : nnfast::Trans::N;
        py::gil_scoped_release release;
        if (precision == "bfloat16")
          nnfast::gemm_bf16(ta, tb, m_, n, k, alpha, pa, a.shape(1), pb, b.shape(1), beta, pc, n,
                            ep, variant);
        else
          nnfast::sgemm(ta, tb, m_, n, k, alpha, pa, a.shape(1), pb, b.shape(1), beta, pc, n, ep);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("bias") = py::none(), py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f, py::arg("precision") = "float32",
      py::arg("bf16_variant") = "best",
      "c = activation(alpha * op(a) @ op(b) + beta * c + bias), in place. precision "
      "'bfloat16' rounds op(a) and op(b) to bfloat16 and accumulates in float32; "
      "bf16_variant picks its implementation ('best', 'amx', 'avx512bf16', 'via_f32').");

  m.def(
      "round_to_bfloat16",
      [](const py::array& x, const py::array& out) {
        // Elementwise: out may be x itself.
        BufferScope scope("round_to_bfloat16", BufferScope::InPlace::same_buffer_ok);
        const float* px = checked<float>(x, "round_to_bfloat16 x");
        float* po = checked<float>(out, "round_to_bfloat16 out", true);
        if (x.size() != out.size())
          throw py::value_error("round_to_bfloat16: out has " + std::to_string(out.size()) +
                                " elements, x " + std::to_string(x.size()));
        py::gil_scoped_release release;
        nnfast::round_to_bf16_array(px, po, static_cast<int64_t>(x.size()));
      },
      py::arg("x"), py::arg("out"),
      "out = x rounded to bfloat16 precision (ties to even, NaN kept), float32 arrays; out "
      "may be x itself.");

  m.def("gemm_bf16_kernel_name", &nnfast::gemm_bf16_kernel_name,
        "The bfloat16 GEMM implementation 'best' runs now: AMX tiles, the AVX512_BF16 "
        "micro-kernel, or rounding to bf16 and the float32 GEMM.");
  m.def(
      "gemm_bf16_variants",
      [] {
        std::vector<std::string> names;
        for (const char* name : {"amx", "avx512bf16", "via_f32"})
          if (nnfast::gemm_bf16_variant_available(parse_bf16_variant(name)))
            names.emplace_back(name);
        return names;
      },
      "The bfloat16 GEMM implementations this CPU runs under the current ISA cap, best first.");

  m.def(
      "gemm_batched",
      [](const py::array& a, const py::array& b, const py::array& c, bool trans_a,
         bool trans_b) {
        BufferScope scope("gemm_batched");
        require_ndim(a, 3, "gemm_batched a");
        require_ndim(b, 3, "gemm_batched b");
        require_ndim(c, 3, "gemm_batched c");
        const float* pa = checked<float>(a, "gemm_batched a");
        const float* pb = checked<float>(b, "gemm_batched b");
        float* pc = checked<float>(c, "gemm_batched c", true);
        const int64_t batch = a.shape(0);
        if (b.shape(0) != batch)
          throw py::value_error("gemm_batched: batch sizes differ: a " + shape_of(a) + ", b " +
                                shape_of(b));
        const int64_t m_ = trans_a ? a.shape(2) : a.shape(1);
        const int64_t k = trans_a ? a.shape(1) : a.shape(2);
        const int64_t kb = trans_b ? b.shape(2) : b.shape(1);
        const int64_t n = trans_b ? b.shape(1) : b.shape(2);
        if (k != kb)
          throw py::value_error("gemm_batched: inner dimensions differ: a " + shape_of(a) +
                                ", b " + shape_of(b));
        require_shape(c, {batch, m_, n}, "gemm_batched c");
        py::gil_scoped_release release;
        nnfast::sgemm_batched(trans_a ? nnfast::Trans::T : nnfast::Trans::N,
                              trans_b ? nnfast::Trans::T : nnfast::Trans::N, batch, m_, n, k,
                              1.0f, pa, a.shape(2), a.shape(1) * a.shape(2), pb, b.shape(2),
                              b.shape(1) * b.shape(2), 0.0f, pc, n, m_ * n);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
      py::arg("trans_b") = false,
      "c[i] = op(a[i]) @ op(b[i]) for 3-D arrays (batch, rows, cols), in place.");
}

// The bf16 variant a binding's bf16_variant= string names (shared with bind_conv_bf16.cpp).
nnfast::Bf16GemmVariant bf16_variant_from_name(const std::string& name) {
  return parse_bf16_variant(name);
}
