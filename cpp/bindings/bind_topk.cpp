#include "bind_util.h"
#include "nnfast/topk.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_topk(py::module_& m) {
  m.def(
      "top_k",
      [](const py::array& x, int64_t k) {
        BufferScope scope("top_k");
        if (x.ndim() < 1)
          throw py::value_error("top_k: expected an array of rank >= 1, received a scalar");
        const float* px = checked<float>(x, "top_k input");
        const int64_t n = x.shape(x.ndim() - 1);
        if (k < 0 || k > n)
          throw py::value_error("top_k: `k` must be in [0, x.shape[-1]]. Received: k=" +
                                std::to_string(k) + ", x.shape=" + shape_of(x));
        std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
        shape.back() = static_cast<py::ssize_t>(k);
        py::array_t<float> values(shape);
        py::array_t<int32_t> indices(shape);
        const int64_t rows = n == 0 ? 0 : static_cast<int64_t>(x.size()) / n;
        float* pv = values.mutable_data();
        int32_t* pi = indices.mutable_data();
        {
          py::gil_scoped_release release;
          nnfast::top_k_rows(px, rows, n, k, pv, pi);
        }
        return py::make_tuple(values, indices);
      },
      py::arg("x"), py::arg("k"),
      "(values, int32 indices) of the k largest entries along the last axis of a float32 "
      "array: largest first, ties by lower index, NaN below every number.");
}
