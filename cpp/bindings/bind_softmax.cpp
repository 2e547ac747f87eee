#include "bind_util.h"
#include "nnfast/reduce.h"
#include "nnfast/softmax.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_softmax(py::module_& m) {
  m.def(
      "softmax_forward",
      [](const py::array& x, const py::array& y, bool log) {
        BufferScope scope("softmax_forward");
        require_same_size(x, y, "softmax input", "output");
        auto [rows, cols] = rows_cols(x, "softmax input");
        const float* px = checked<float>(x, "softmax input");
        float* py_ = checked<float>(y, "softmax output", true);
        if (cols == 0) return;
        py::gil_scoped_release release;
        (log ? nnfast::log_softmax_forward : nnfast::softmax_forward)(px, py_, rows, cols);
      },
      py::arg("x"), py::arg("out"), py::arg("log") = false,
      "Softmax (or log-softmax) over the last axis.");
  m.def(
      "softmax_backward",
      [](const py::array& y, const py::array& dy, const py::array& dx, bool log) {
        BufferScope scope("softmax_backward");
        require_same_size(y, dy, "softmax output", "gradient");
        require_same_size(y, dx, "softmax output", "input gradient");
        auto [rows, cols] = rows_cols(y, "softmax output");
        const float* py_ = checked<float>(y, "softmax output");
        const float* pdy = checked<float>(dy, "softmax gradient");
        float* pdx = checked<float>(dx, "softmax input gradient", true);
        if (cols == 0) return;
        py::gil_scoped_release release;
        (log ? nnfast::log_softmax_backward : nnfast::softmax_backward)(py_, pdy, pdx, rows, cols);
      },
      py::arg("y"), py::arg("dy"), py::arg("out"), py::arg("log") = false);
  m.def(
      "softmax_along_axis",
      [](const py::array& x, int64_t axis, const py::array& y, bool log) {
        BufferScope scope("softmax_along_axis");
        if (axis < 0 || axis >= x.ndim())
          throw py::value_error("softmax_along_axis: axis " + std::to_string(axis) +
                                " is out of range for an input of shape " + shape_of(x));
        require_same_size(x, y, "softmax input", "output");
        const float* px = checked<float>(x, "softmax input");
        float* py_ = checked<float>(y, "softmax output", true);
        int64_t outer = 1, inner = 1;
        for (py::ssize_t d = 0; d < axis; ++d) outer *= x.shape(d);
        for (py::ssize_t d = axis + 1; d < x.ndim(); ++d) inner *= x.shape(d);
        const int64_t n = x.shape(axis);
        if (x.size() == 0) return;
        py::gil_scoped_release release;
        nnfast::softmax_strided(px, py_, outer, n, inner, log);
      },
      py::arg("x"), py::arg("axis"), py::arg("out"), py::arg("log") = false,
      "Softmax (or log-softmax) over any axis of a C-contiguous float32 array.");
  m.def(
      "logsumexp_rows",
      [](const py::array& x, const py::array& out) {
        BufferScope scope("logsumexp_rows");
        auto [rows, cols] = rows_cols(x, "logsumexp input");
        if (cols < 1)
          throw py::value_error("logsumexp: expected rows of at least 1 entry, received shape " +
                                shape_of(x));
        require_shape(out, {static_cast<py::ssize_t>(rows)}, "logsumexp output");
        const float* px = checked<float>(x, "logsumexp input");
        float* po = checked<float>(out, "logsumexp output", true);
        py::gil_scoped_release release;
        nnfast::logsumexp_rows(px, po, rows, cols);
      },
      py::arg("x"), py::arg("out"),
      "out[i] = log(sum(exp(x[..., :]))) of each row of the last axis (out: one per row).");
  m.def(
      "sum_over_rows",
      [](const py::array& x, const py::array& out, bool accumulate) {
        BufferScope scope("sum_over_rows");
        auto [rows, cols] = rows_cols(x, "sum_over_rows input");
        require_shape(out, {static_cast<py::ssize_t>(cols)}, "sum_over_rows output");
        const float* px = checked<float>(x, "sum_over_rows input");
        float* po = checked<float>(out, "sum_over_rows output", true);
        py::gil_scoped_release release;
        nnfast::sum_over_rows(px, rows, cols, po, accumulate);
      },
      py::arg("x"), py::arg("out"), py::arg("accumulate") = false,
      "out[j] (+)= sum of x[..., j] over every leading index.");
}
