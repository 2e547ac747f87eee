#include "bind_util.h"
#include "nnfast/optimizer.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_optimizer(py::module_& m) {
  m.def(
      "sgd_update",
      [](const py::array& w, const py::array& g, const py::object& m_, float lr, float momentum,
         bool nesterov) {
        require_same_size(w, g, "variable", "gradient");
        float* pw = checked<float>(w, "variable", true);
        const float* pg = checked<float>(g, "gradient");
        float* pm = checked_or_null<float>(m_, "momentum", true);
        if (pm) require_same_size(w, py::cast<py::array>(m_), "variable", "momentum");
        const int64_t n = w.size();
        py::gil_scoped_release release;
        nnfast::sgd_update(pw, pg, pm, n, lr, momentum, nesterov);
      },
      py::arg("w"), py::arg("g"), py::arg("momentum_buf"), py::arg("lr"), py::arg("momentum"),
      py::arg("nesterov"));
  m.def(
      "adam_update",
      [](const py::array& w, const py::array& g, const py::array& m_, const py::array& v,
         const py::object& vhat, float lr, float b1, float b2, float eps, int64_t step) {
        require_same_size(w, g, "variable", "gradient");
        require_same_size(w, m_, "variable", "first moment");
        require_same_size(w, v, "variable", "second moment");
        float* pw = checked<float>(w, "variable", true);
        const float* pg = checked<float>(g, "gradient");
        float* pm = checked<float>(m_, "first moment", true);
        float* pv = checked<float>(v, "second moment", true);
        float* ph = checked_or_null<float>(vhat, "vhat", true);
        if (ph) require_same_size(w, py::cast<py::array>(vhat), "variable", "vhat");
        const int64_t n = w.size();
        py::gil_scoped_release release;
        nnfast::adam_update(pw, pg, pm, pv, ph, n, lr, b1, b2, eps, step);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("v"), py::arg("vhat"), py::arg("lr"),
      py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"));
}
