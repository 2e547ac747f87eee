// Sparse-input Dense: CSR batches built from dense rows, gather-sum forward and
// scatter-add kernel gradient (see nnfast/sparse.h).
#include <algorithm>

#include "bind_util.h"
#include "nnfast/sparse.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

struct Csr {
  const int64_t* indptr;
  const int64_t* indices;
  const float* values;
  int64_t rows, nnz;
};

Csr checked_csr(const py::array& indptr, const py::array& indices, const py::array& values) {
  require_ndim(indptr, 1, "CSR indptr");
  require_ndim(indices, 1, "CSR indices");
  require_ndim(values, 1, "CSR values");
  Csr c{checked<int64_t>(indptr, "CSR indptr"), checked<int64_t>(indices, "CSR indices"),
        checked<float>(values, "CSR values"), indptr.size() - 1, values.size()};
  if (indptr.size() < 1)
    throw py::value_error("CSR indptr: expected rows + 1 >= 1 entries, received shape " +
                          shape_of(indptr));
  if (indices.size() < c.nnz)
    throw py::value_error("CSR indices: expected at least as many entries as values (" +
                          std::to_string(c.nnz) + "), received shape " + shape_of(indices));
  return c;
}

}  // namespace

void bind_sparse(py::module_& m) {
  m.def(
      "csr_from_dense",
      [](const py::array& x, int64_t max_nnz) -> py::object {
        BufferScope scope("csr_from_dense");
        require_ndim(x, 2, "csr_from_dense x");
        const float* px = checked<float>(x, "csr_from_dense x");
        const int64_t rows = x.shape(0), cols = x.shape(1);
        if (cols < 1) throw py::value_error("csr_from_dense x: expected at least one column, "
                                            "received shape " + shape_of(x));
        if (max_nnz < 0)
          throw py::value_error("csr_from_dense: max_nnz must be >= 0, received " +
                                std::to_string(max_nnz));
        max_nnz = std::min<int64_t>(max_nnz, rows * cols);
        py::array_t<int64_t> indptr(rows + 1), indices(max_nnz);
        py::array_t<float> values(max_nnz);
        int64_t* pp = indptr.mutable_data();
        int64_t* pi = indices.mutable_data();
        float* pv = values.mutable_data();
        int64_t nnz;
        {
          py::gil_scoped_release release;
          nnz = nnfast::csr_from_dense(px, rows, cols, max_nnz, pp, pi, pv);
        }
        if (nnz < 0) return py::none();  // denser than max_nnz: the dense path is better
        const py::slice used(0, nnz, 1);
        return py::make_tuple(indptr, indices[used], values[used]);
      },
      py::arg("x"), py::arg("max_nnz"),
      "(indptr, indices, values) of the 2-D float32 x in CSR form (int64 indices), or None "
      "once more than max_nnz nonzeros are found (the scan stops there).");
  m.def(
      "csr_matmul",
      [](const py::array& indptr, const py::array& indices, const py::array& values,
         const py::array& w, const py::array& out, const py::object& bias) {
        BufferScope scope("csr_matmul");
        const Csr c = checked_csr(indptr, indices, values);
        require_ndim(w, 2, "csr_matmul kernel");
        const float* pw = checked<float>(w, "csr_matmul kernel");
        const int64_t in_dim = w.shape(0), units = w.shape(1);
        float* po = checked<float>(out, "csr_matmul out", true);
        require_shape(out, {c.rows, units}, "csr_matmul out");
        const float* pb = optional_f32(bias, {units}, "csr_matmul bias");
        py::gil_scoped_release release;
        nnfast::csr_matmul(c.indptr, c.indices, c.values, c.rows, c.nnz, pw, in_dim, units, pb,
                           po);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("kernel"),
      py::arg("out"), py::arg("bias") = py::none(),
      "out (rows, units) = csr (rows, in) @ kernel (in, units) [+ bias], a gather-sum of "
      "kernel rows over each row's nonzeros (the CSR is checked first).");
  m.def(
      "csr_matmul_t",
      [](const py::array& indptr, const py::array& indices, const py::array& values,
         const py::array& dy, const py::array& dw, bool accumulate) {
        BufferScope scope("csr_matmul_t");
        const Csr c = checked_csr(indptr, indices, values);
        require_ndim(dw, 2, "csr_matmul_t dw");
        float* pd = checked<float>(dw, "csr_matmul_t dw", true);
        const int64_t in_dim = dw.shape(0), units = dw.shape(1);
        const float* pg = checked<float>(dy, "csr_matmul_t dy");
        require_shape(dy, {c.rows, units}, "csr_matmul_t dy");
        py::gil_scoped_release release;
        nnfast::csr_matmul_t(c.indptr, c.indices, c.values, c.rows, c.nnz, pg, units, pd,
                             in_dim, accumulate);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("dy"), py::arg("dw"),
      py::arg("accumulate") = false,
      "dw (in, units) = csr^T @ dy (or += with accumulate): a scatter-add of dy's rows, "
      "deterministic for any thread count.");
}
