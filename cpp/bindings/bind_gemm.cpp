#include <limits>

#include "bind_util.h"
#include "nnfast/gemm.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, const py::array& c, bool trans_a, bool trans_b,
         float alpha, float beta, const py::object& bias, int activation, float act_alpha,
         float act_max, float act_threshold) {
        BufferScope scope("gemm");
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
        py::gil_scoped_release release;
        nnfast::sgemm(trans_a ? nnfast::Trans::T : nnfast::Trans::N,
                      trans_b ? nnfast::Trans::T : nnfast::Trans::N, m_, n, k, alpha, pa,
                      a.shape(1), pb, b.shape(1), beta, pc, n, ep);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("bias") = py::none(), py::arg("activation") = 0, py::arg("act_alpha") = 0.0f,
      py::arg("act_max") = std::numeric_limits<float>::infinity(),
      py::arg("act_threshold") = 0.0f,
      "c = activation(alpha * op(a) @ op(b) + beta * c + bias), in place.");

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
