#include "bind_util.h"
#include "nnfast/dropout.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_dropout(py::module_& m) {
  m.def(
      "dropout_apply",
      [](const py::array& x, const py::array& out, float rate, uint64_t seed, uint64_t offset) {
        // Elementwise (element i read, then written): out may be x itself.
        BufferScope scope("dropout_apply", BufferScope::InPlace::same_buffer_ok);
        require_same_size(x, out, "dropout input", "output");
        const float* px = checked<float>(x, "dropout input");
        float* po = checked<float>(out, "dropout output", true);
        if (!(rate >= 0.0f && rate < 1.0f))
          throw py::value_error("dropout rate must be in [0, 1), received " + std::to_string(rate));
        const int64_t n = x.size();
        py::gil_scoped_release release;
        nnfast::dropout_apply(px, po, n, rate, seed, offset);
      },
      py::arg("x"), py::arg("out"), py::arg("rate"), py::arg("seed"), py::arg("offset") = 0,
      "Inverted dropout with a counter-based mask; the same (seed, offset) gives the same mask.");
  m.def("counter_uniform", &nnfast::counter_uniform, py::arg("seed"), py::arg("i"));
}
