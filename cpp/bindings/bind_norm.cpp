#include "bind_util.h"
#include "nnfast/norm.h"

namespace py = pybind11;
using namespace nnfast::bind;

void bind_norm(py::module_& m) {
  m.def(
      "batch_norm_forward_training",
      [](const py::array& x, const py::object& gamma, const py::object& beta, float epsilon,
         const py::array& y, const py::array& mean, const py::array& var) {
        BufferScope scope("batch_norm_forward_training");
        auto [rows, C] = rows_cols(x, "batch_norm input");
        require_same_size(x, y, "batch_norm input", "output");
        const float* px = checked<float>(x, "batch_norm input");
        float* py_ = checked<float>(y, "batch_norm output", true);
        const float* g = optional_f32(gamma, {C}, "batch_norm gamma");
        const float* b = optional_f32(beta, {C}, "batch_norm beta");
        float* pm = optional_f32(mean, {C}, "batch_norm batch mean", true);
        float* pv = optional_f32(var, {C}, "batch_norm batch variance", true);
        if (rows == 0) throw py::value_error("batch_norm: training needs a non-empty batch");
        py::gil_scoped_release release;
        nnfast::batch_norm_forward_training(px, rows, C, g, b, epsilon, py_, pm, pv);
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon"), py::arg("y"),
      py::arg("mean"), py::arg("var"),
      "Batch norm over all rows of x viewed as (rows, channels); writes y and the batch "
      "mean and biased variance.");
  m.def(
      "batch_norm_forward_inference",
      [](const py::array& x, const py::object& gamma, const py::object& beta,
         const py::array& mean, const py::array& var, float epsilon, const py::array& y) {
        BufferScope scope("batch_norm_forward_inference");
        auto [rows, C] = rows_cols(x, "batch_norm input");
        require_same_size(x, y, "batch_norm input", "output");
        const float* px = checked<float>(x, "batch_norm input");
        float* py_ = checked<float>(y, "batch_norm output", true);
        const float* g = optional_f32(gamma, {C}, "batch_norm gamma");
        const float* b = optional_f32(beta, {C}, "batch_norm beta");
        const float* pm = optional_f32(mean, {C}, "batch_norm moving mean");
        const float* pv = optional_f32(var, {C}, "batch_norm moving variance");
        py::gil_scoped_release release;
        nnfast::batch_norm_forward_inference(px, rows, C, g, b, pm, pv, epsilon, py_);
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("mean"), py::arg("var"),
      py::arg("epsilon"), py::arg("y"));
  m.def(
      "batch_norm_backward",
      [](const py::array& x, const py::array& dy, const py::object& gamma, const py::array& mean,
         const py::array& var, float epsilon, bool training, const py::object& dx,
         const py::object& dgamma, const py::object& dbeta) {
        BufferScope scope("batch_norm_backward");
        auto [rows, C] = rows_cols(x, "batch_norm input");
        require_same_size(x, dy, "batch_norm input", "output gradient");
        const float* px = checked<float>(x, "batch_norm input");
        const float* pg = checked<float>(dy, "batch_norm output gradient");
        const float* g = optional_f32(gamma, {C}, "batch_norm gamma");
        const float* pm = optional_f32(mean, {C}, "batch_norm mean");
        const float* pv = optional_f32(var, {C}, "batch_norm variance");
        float* pdx = optional_f32_like(dx, x, "batch_norm input", "batch_norm input gradient", true);
        float* pdg = optional_f32(dgamma, {C}, "batch_norm dgamma", true);
        float* pdb = optional_f32(dbeta, {C}, "batch_norm dbeta", true);
        py::gil_scoped_release release;
        nnfast::batch_norm_backward(px, pg, rows, C, g, pm, pv, epsilon, training, pdx, pdg, pdb);
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("mean"), py::arg("var"),
      py::arg("epsilon"), py::arg("training"), py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"));
  m.def(
      "layer_norm_forward",
      [](const py::array& x, const py::object& gamma, const py::object& beta, float epsilon,
         const py::array& y, const py::array& mean, const py::array& rstd) {
        BufferScope scope("layer_norm_forward");
        auto [rows, D] = rows_cols(x, "layer_norm input");
        require_same_size(x, y, "layer_norm input", "output");
        const float* px = checked<float>(x, "layer_norm input");
        float* py_ = checked<float>(y, "layer_norm output", true);
        const float* g = optional_f32(gamma, {D}, "layer_norm gamma");
        const float* b = optional_f32(beta, {D}, "layer_norm beta");
        float* pm = optional_f32(mean, {rows}, "layer_norm mean", true);
        float* pr = optional_f32(rstd, {rows}, "layer_norm rstd", true);
        py::gil_scoped_release release;
        nnfast::layer_norm_forward(px, rows, D, g, b, epsilon, py_, pm, pr);
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("epsilon"), py::arg("y"),
      py::arg("mean"), py::arg("rstd"), "Normalizes each row of x (rows, features).");
  m.def(
      "layer_norm_backward",
      [](const py::array& x, const py::array& dy, const py::object& gamma, const py::array& mean,
         const py::array& rstd, const py::object& dx, const py::object& dgamma,
         const py::object& dbeta) {
        BufferScope scope("layer_norm_backward");
        auto [rows, D] = rows_cols(x, "layer_norm input");
        require_same_size(x, dy, "layer_norm input", "output gradient");
        const float* px = checked<float>(x, "layer_norm input");
        const float* pg = checked<float>(dy, "layer_norm output gradient");
        const float* g = optional_f32(gamma, {D}, "layer_norm gamma");
        const float* pm = optional_f32(mean, {rows}, "layer_norm mean");
        const float* pr = optional_f32(rstd, {rows}, "layer_norm rstd");
        float* pdx = optional_f32_like(dx, x, "layer_norm input", "layer_norm input gradient", true);
        float* pdg = optional_f32(dgamma, {D}, "layer_norm dgamma", true);
        float* pdb = optional_f32(dbeta, {D}, "layer_norm dbeta", true);
        py::gil_scoped_release release;
        nnfast::layer_norm_backward(px, pg, rows, D, g, pm, pr, pdx, pdg, pdb);
      },
      py::arg("x"), py::arg("dy"), py::arg("gamma"), py::arg("mean"), py::arg("rstd"),
      py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"));
}
