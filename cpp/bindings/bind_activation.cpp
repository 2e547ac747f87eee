#include <limits>

#include "bind_util.h"
#include "nnfast/activation.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {
nnfast::Activation to_activation(int id) {
  if (id < 0 || id > static_cast<int>(nnfast::Activation::mish))
    throw py::value_error("unknown activation id " + std::to_string(id));
  return static_cast<nnfast::Activation>(id);
}
}  // namespace

void bind_activation(py::module_& m) {
  const float inf = std::numeric_limits<float>::infinity();
  m.def(
      "activation_forward",
      [](int act, const py::array& x, const py::array& y, float alpha, float max_value,
         float threshold) {
        // Elementwise (element i read, then written): out may be x itself; the driver runs
        // it in place on GEMM rows too.
        BufferScope scope("activation_forward", BufferScope::InPlace::same_buffer_ok);
        require_same_size(x, y, "activation input", "output");
        const float* px = checked<float>(x, "activation input");
        float* py_ = checked<float>(y, "activation output", true);
        nnfast::ActivationParams p{alpha, max_value, threshold};
        const auto a = to_activation(act);
        const int64_t n = x.size();
        py::gil_scoped_release release;
        nnfast::activation_forward(a, p, px, py_, n);
      },
      py::arg("activation"), py::arg("x"), py::arg("out"), py::arg("alpha") = 0.0f,
      py::arg("max_value") = inf, py::arg("threshold") = 0.0f);
  m.def(
      "activation_backward",
      [](int act, const py::object& x, const py::object& y, const py::array& dy,
         const py::array& dx, float alpha, float max_value, float threshold) {
        // Elementwise: out may be x, y or dy itself (all of element i read before it is written).
        BufferScope scope("activation_backward", BufferScope::InPlace::same_buffer_ok);
        require_same_size(dy, dx, "activation gradient", "output");
        const float* px = checked_or_null<float>(x, "activation input");
        const float* py_ = checked_or_null<float>(y, "activation output");
        if (px) require_same_size(py::cast<py::array>(x), dy, "activation input", "gradient");
        if (py_) require_same_size(py::cast<py::array>(y), dy, "activation output", "gradient");
        const float* pdy = checked<float>(dy, "activation gradient");
        float* pdx = checked<float>(dx, "activation input gradient", true);
        nnfast::ActivationParams p{alpha, max_value, threshold};
        const auto a = to_activation(act);
        const int64_t n = dy.size();
        py::gil_scoped_release release;
        nnfast::activation_backward(a, p, px, py_, pdy, pdx, n);
      },
      py::arg("activation"), py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("out"),
      py::arg("alpha") = 0.0f, py::arg("max_value") = inf, py::arg("threshold") = 0.0f);
  m.def(
      "activation_needs_input",
      [](int act, float alpha, float threshold) {
        nnfast::ActivationParams p;
        p.alpha = alpha;
        p.threshold = threshold;
        return nnfast::activation_needs_input(to_activation(act), p);
      },
      py::arg("activation"), py::arg("alpha") = 0.0f, py::arg("threshold") = 0.0f);
}
