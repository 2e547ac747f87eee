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
  m.def(
      "dropout_forward_mask",
      [](const py::array& x, const py::array& out, const py::array& mask, float rate,
         uint64_t seed, uint64_t offset) {
        BufferScope scope("dropout_forward_mask", BufferScope::InPlace::same_buffer_ok);
        require_same_size(x, out, "dropout input", "output");
        const float* px = checked<float>(x, "dropout input");
        float* po = checked<float>(out, "dropout output", true);
        uint8_t* pm = checked<uint8_t>(mask, "dropout mask", true);
        const int64_t n = x.size();
        if (mask.size() != (n + 7) / 8)
          throw py::value_error("dropout mask: expected " + std::to_string((n + 7) / 8) +
                                " bytes (one bit per element of an input of " +
                                std::to_string(n) + "), received shape " + shape_of(mask));
        if (!(rate >= 0.0f && rate < 1.0f))
          throw py::value_error("dropout rate must be in [0, 1), received " + std::to_string(rate));
        py::gil_scoped_release release;
        nnfast::dropout_forward_mask(px, po, pm, n, rate, seed, offset);
      },
      py::arg("x"), py::arg("out"), py::arg("mask"), py::arg("rate"), py::arg("seed"),
      py::arg("offset") = 0,
      "dropout_apply, also storing the keep mask as bits in mask (uint8, (x.size + 7) // 8 "
      "bytes; element i is bit i % 8 of mask[i // 8]).");
  m.def(
      "dropout_backward_mask",
      [](const py::array& g, const py::array& mask, const py::array& out, float rate) {
        BufferScope scope("dropout_backward_mask", BufferScope::InPlace::same_buffer_ok);
        require_same_size(g, out, "dropout gradient", "output");
        const float* pg = checked<float>(g, "dropout gradient");
        const uint8_t* pm = checked<uint8_t>(mask, "dropout mask");
        float* po = checked<float>(out, "dropout output", true);
        const int64_t n = g.size();
        if (mask.size() != (n + 7) / 8)
          throw py::value_error("dropout mask: expected " + std::to_string((n + 7) / 8) +
                                " bytes (one bit per element of a gradient of " +
                                std::to_string(n) + "), received shape " + shape_of(mask));
        if (!(rate >= 0.0f && rate < 1.0f))
          throw py::value_error("dropout rate must be in [0, 1), received " + std::to_string(rate));
        py::gil_scoped_release release;
        nnfast::dropout_backward_mask(pg, pm, po, n, rate);
      },
      py::arg("g"), py::arg("mask"), py::arg("out"), py::arg("rate"),
      "out = g / (1 - rate) where the stored mask bit is set, else 0 (dropout_forward_mask's "
      "gradient).");
  m.def("counter_uniform", &nnfast::counter_uniform, py::arg("seed"), py::arg("i"));
}
