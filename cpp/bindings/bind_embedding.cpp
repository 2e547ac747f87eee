#include "bind_util.h"
#include "nnfast/embedding.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_embedding(py::module_& m) {
  m.def(
      "embedding_forward",
      [](const py::array& table, const py::array& ids, const py::array& out) {
        BufferScope scope("embedding_forward");
        require_ndim(table, 2, "embedding table");
        const float* pt = checked<float>(table, "embedding table");
        const int64_t* pi = checked<int64_t>(ids, "embedding ids");
        float* po = checked<float>(out, "embedding output", true);
        const int64_t vocab = table.shape(0), dim = table.shape(1), n = ids.size();
        if (out.size() != n * dim)
          throw py::value_error("embedding output: expected " + std::to_string(n * dim) +
                                " floats (ids " + shape_of(ids) + " x dim " +
                                std::to_string(dim) + "), received shape " + shape_of(out));
        py::gil_scoped_release release;
        nnfast::embedding_forward(pt, vocab, dim, pi, n, po);
      },
      py::arg("table"), py::arg("ids"), py::arg("out"),
      "out[i] = table[ids[i]] (ids int64, checked against the table's rows).");
  m.def(
      "embedding_backward",
      [](const py::array& grad, const py::array& ids, const py::array& dtable,
         const py::object& clear_ids) {
        BufferScope scope("embedding_backward");
        require_ndim(dtable, 2, "embedding dtable");
        const float* pg = checked<float>(grad, "embedding grad");
        const int64_t* pi = checked<int64_t>(ids, "embedding ids");
        float* pd = checked<float>(dtable, "embedding dtable", true);
        const int64_t vocab = dtable.shape(0), dim = dtable.shape(1), n = ids.size();
        if (grad.size() != n * dim)
          throw py::value_error("embedding grad: expected " + std::to_string(n * dim) +
                                " floats, received shape " + shape_of(grad));
        const int64_t* pc = nullptr;
        int64_t n_clear = 0;
        py::array clear;
        if (!clear_ids.is_none()) {
          clear = py::cast<py::array>(clear_ids);
          pc = checked<int64_t>(clear, "embedding clear_ids");
          n_clear = clear.size();
        }
        py::gil_scoped_release release;
        nnfast::embedding_backward(pg, pi, n, dim, pd, vocab, pc, n_clear);
      },
      py::arg("grad"), py::arg("ids"), py::arg("dtable"), py::arg("clear_ids") = py::none(),
      "dtable[ids[i]] += grad[i], touching only the named rows; rows named by clear_ids "
      "are zeroed first.");
  m.def(
      "embedding_shift_square_rows",
      [](const py::array& slot, const py::array& ids, const py::array& g,
         const py::array& squares, float factor) {
        BufferScope scope("embedding_shift_square_rows");
        require_ndim(slot, 2, "embedding slot");
        float* ps = checked<float>(slot, "embedding slot", true);
        const int64_t* pi = checked<int64_t>(ids, "embedding ids");
        const float* pg = checked<float>(g, "embedding g");
        const float* pq = checked<float>(squares, "embedding squares");
        const int64_t vocab = slot.shape(0), dim = slot.shape(1), n = ids.size();
        if (g.size() != n * dim || squares.size() != n * dim)
          throw py::value_error("embedding_shift_square_rows: g and squares must hold " +
                                std::to_string(n * dim) + " floats (ids " + shape_of(ids) +
                                " x dim " + std::to_string(dim) + "), received g " +
                                shape_of(g) + " and squares " + shape_of(squares));
        py::gil_scoped_release release;
        nnfast::embedding_shift_square_rows(ps, vocab, dim, pi, n, pg, pq, factor);
      },
      py::arg("slot"), py::arg("ids"), py::arg("g"), py::arg("squares"), py::arg("factor"),
      "slot[ids[i]] += (squares[i] - g[i]**2) * factor, touching only the named rows: "
      "shifts a squaring optimizer's slot so that its dense kernel, run next on the summed "
      "gradient, accumulates per-token squares as Keras does.");
}
