// Broadcast matmul (ops.matmul of stacks whose batch axes broadcast): nnfast/gemm_small.h.
#include <string>

#include "bind_util.h"
#include "nnfast/gemm_small.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_gemm_small(py::module_& m) {
  m.def(
      "gemm_broadcast",
      [](const py::array& a, const py::array& b, const py::array& a_index,
         const py::array& b_index, const py::array& c) {
        BufferScope scope("gemm_broadcast");
        require_ndim(a, 3, "gemm_broadcast a");
        require_ndim(b, 3, "gemm_broadcast b");
        require_ndim(c, 3, "gemm_broadcast c");
        require_ndim(a_index, 1, "gemm_broadcast a_index");
        require_ndim(b_index, 1, "gemm_broadcast b_index");
        const float* pa = checked<float>(a, "gemm_broadcast a");
        const float* pb = checked<float>(b, "gemm_broadcast b");
        const int64_t* ia = checked<int64_t>(a_index, "gemm_broadcast a_index");
        const int64_t* ib = checked<int64_t>(b_index, "gemm_broadcast b_index");
        float* pc = checked<float>(c, "gemm_broadcast c", true);
        const int64_t batch = c.shape(0), rows = a.shape(1), k = a.shape(2), n = b.shape(2);
        if (b.shape(1) != k)
          throw py::value_error("gemm_broadcast: inner dimensions differ: a " + shape_of(a) +
                                " and b " + shape_of(b) + " (expected b.shape[1] == " +
                                std::to_string(k) + ")");
        require_shape(c, {batch, rows, n}, "gemm_broadcast c");
        require_shape(a_index, {batch}, "gemm_broadcast a_index");
        require_shape(b_index, {batch}, "gemm_broadcast b_index");
        py::gil_scoped_release release;
        nnfast::sgemm_broadcast(batch, rows, n, k, pa, a.shape(0), ia, pb, b.shape(0), ib, pc);
      },
      py::arg("a"), py::arg("b"), py::arg("a_index"), py::arg("b_index"), py::arg("c"),
      "c[i] = a[a_index[i]] @ b[b_index[i]] for float32 stacks a (na, m, k), b (nb, k, n), "
      "c (batch, m, n) and int64 indices (batch,): the products of a broadcast matmul. Small "
      "products run on the unpacked gemm_small kernel, larger ones on the packed SGEMM.");
  m.def(
      "gemm_small_kernel_name", [] { return std::string(nnfast::sgemm_small_kernel_name()); },
      "The small-GEMM kernel gemm_broadcast uses now (follows set_max_isa).");
}
