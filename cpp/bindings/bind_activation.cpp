#include <limits>

#include "bind_util.h"
#include "nnfast/activation.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {
nnfast::Activation to_activation(int id) { return activation_of(id, "activation"); }
}  // namespace

void bind_activation(py::module_& m) {
  const float inf = std::numeric_limits<float>::infinity();
  // The one definition of the activation ids Python passes to every kernel binding.
  py::enum_<nnfast::Activation>(m, "Activation", py::arithmetic(),
                                "Ids of the activations the kernels fuse (nnfast::Activation); "
                                "int(Activation.relu) is what the bindings take.")
      .value("linear", nnfast::Activation::linear)
      .value("relu", nnfast::Activation::relu)
      .value("sigmoid", nnfast::Activation::sigmoid)
      .value("tanh", nnfast::Activation::tanh)
      .value("elu", nnfast::Activation::elu)
      .value("selu", nnfast::Activation::selu)
      .value("softplus", nnfast::Activation::softplus)
      .value("softsign", nnfast::Activation::softsign)
      .value("swish", nnfast::Activation::swish)
      .value("gelu", nnfast::Activation::gelu)
      .value("gelu_tanh", nnfast::Activation::gelu_tanh)
      .value("exponential", nnfast::Activation::exponential)
      .value("hard_sigmoid", nnfast::Activation::hard_sigmoid)
      .value("relu6", nnfast::Activation::relu6)
      .value("leaky_relu", nnfast::Activation::leaky_relu)
      .value("hard_silu", nnfast::Activation::hard_silu)
      .value("mish", nnfast::Activation::mish);
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
