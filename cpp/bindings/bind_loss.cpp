#include "bind_util.h"
#include "nnfast/loss.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

struct Targets {
  const float* dense = nullptr;
  const int64_t* labels = nullptr;
};

// Dense targets must have the prediction's shape; integer labels one entry per row.
Targets targets_for(const py::array& pred, const py::object& target, const py::object& labels,
                    int64_t rows) {
  Targets t;
  t.dense = checked_or_null<float>(target, "loss target");
  t.labels = checked_or_null<int64_t>(labels, "loss labels");
  if ((t.dense == nullptr) == (t.labels == nullptr))
    throw py::value_error("loss: give exactly one of target= or labels=");
  if (t.dense) require_same_size(pred, py::cast<py::array>(target), "predictions", "targets");
  if (t.labels && py::cast<py::array>(labels).size() != rows)
    throw py::value_error("loss: expected " + std::to_string(rows) + " labels for predictions " +
                          shape_of(pred) + ", received " + shape_of(py::cast<py::array>(labels)));
  return t;
}

void check_rows(const py::array& a, int64_t rows, const char* name) {
  if (a.size() != rows)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(rows) +
                          " values (one per row), received " + shape_of(a));
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def(
      "softmax_cross_entropy_forward",
      [](const py::array& logits, const py::object& target, const py::object& labels,
         const py::array& probs, const py::array& loss) {
        BufferScope scope("softmax_cross_entropy_forward");
        auto [rows, cols] = rows_cols(logits, "logits");
        Targets t = targets_for(logits, target, labels, rows);
        require_same_size(logits, probs, "logits", "probs");
        check_rows(loss, rows, "loss");
        const float* z = checked<float>(logits, "logits");
        float* p = checked<float>(probs, "probs", true);
        float* l = checked<float>(loss, "loss", true);
        py::gil_scoped_release release;
        nnfast::softmax_cross_entropy_forward(z, t.dense, t.labels, rows, cols, p, l);
      },
      py::arg("logits"), py::arg("target"), py::arg("labels"), py::arg("probs"), py::arg("loss"));
  m.def(
      "softmax_cross_entropy_backward",
      [](const py::array& probs, const py::object& target, const py::object& labels,
         const py::array& drow, const py::array& dlogits) {
        BufferScope scope("softmax_cross_entropy_backward");
        auto [rows, cols] = rows_cols(probs, "probs");
        Targets t = targets_for(probs, target, labels, rows);
        check_rows(drow, rows, "row gradient");
        require_same_size(probs, dlogits, "probs", "dlogits");
        const float* p = checked<float>(probs, "probs");
        const float* g = checked<float>(drow, "row gradient");
        float* d = checked<float>(dlogits, "dlogits", true);
        py::gil_scoped_release release;
        nnfast::softmax_cross_entropy_backward(p, t.dense, t.labels, g, rows, cols, d);
      },
      py::arg("probs"), py::arg("target"), py::arg("labels"), py::arg("drow"), py::arg("out"));
  m.def(
      "categorical_crossentropy_forward",
      [](const py::array& probs, const py::object& target, const py::object& labels, float eps,
         const py::array& loss) {
        BufferScope scope("categorical_crossentropy_forward");
        auto [rows, cols] = rows_cols(probs, "probs");
        Targets t = targets_for(probs, target, labels, rows);
        check_rows(loss, rows, "loss");
        const float* p = checked<float>(probs, "probs");
        float* l = checked<float>(loss, "loss", true);
        py::gil_scoped_release release;
        nnfast::categorical_crossentropy_forward(p, t.dense, t.labels, rows, cols, eps, l);
      },
      py::arg("probs"), py::arg("target"), py::arg("labels"), py::arg("eps"), py::arg("loss"));
  m.def(
      "categorical_crossentropy_backward",
      [](const py::array& probs, const py::object& target, const py::object& labels,
         const py::array& drow, float eps, const py::array& dprobs) {
        BufferScope scope("categorical_crossentropy_backward");
        auto [rows, cols] = rows_cols(probs, "probs");
        Targets t = targets_for(probs, target, labels, rows);
        check_rows(drow, rows, "row gradient");
        require_same_size(probs, dprobs, "probs", "dprobs");
        const float* p = checked<float>(probs, "probs");
        const float* g = checked<float>(drow, "row gradient");
        float* d = checked<float>(dprobs, "dprobs", true);
        py::gil_scoped_release release;
        nnfast::categorical_crossentropy_backward(p, t.dense, t.labels, g, rows, cols, eps, d);
      },
      py::arg("probs"), py::arg("target"), py::arg("labels"), py::arg("drow"), py::arg("eps"),
      py::arg("out"));

  // Elementwise-target losses share one shape contract: pred and target alike.
  using Fwd = void (*)(const float*, const float*, int64_t, int64_t, float*);
  using Bwd = void (*)(const float*, const float*, const float*, int64_t, int64_t, float*);
  auto def_pair = [&m](const char* name, Fwd fwd, Bwd bwd) {
    m.def((std::string(name) + "_forward").c_str(),
          [fwd, name](const py::array& pred, const py::array& target, const py::array& loss) {
            BufferScope scope(std::string(name) + "_forward");
            auto [rows, cols] = rows_cols(pred, "predictions");
            require_same_size(pred, target, "predictions", "targets");
            check_rows(loss, rows, "loss");
            const float* p = checked<float>(pred, "predictions");
            const float* y = checked<float>(target, "targets");
            float* l = checked<float>(loss, "loss", true);
            py::gil_scoped_release release;
            fwd(p, y, rows, cols, l);
          },
          py::arg("pred"), py::arg("target"), py::arg("loss"));
    m.def((std::string(name) + "_backward").c_str(),
          [bwd, name](const py::array& pred, const py::array& target, const py::array& drow,
                const py::array& dpred) {
            BufferScope scope(std::string(name) + "_backward");
            auto [rows, cols] = rows_cols(pred, "predictions");
            require_same_size(pred, target, "predictions", "targets");
            require_same_size(pred, dpred, "predictions", "dpred");
            check_rows(drow, rows, "row gradient");
            const float* p = checked<float>(pred, "predictions");
            const float* y = checked<float>(target, "targets");
            const float* g = checked<float>(drow, "row gradient");
            float* d = checked<float>(dpred, "dpred", true);
            py::gil_scoped_release release;
            bwd(p, y, g, rows, cols, d);
          },
          py::arg("pred"), py::arg("target"), py::arg("drow"), py::arg("out"));
  };
  def_pair("mean_squared_error", nnfast::mean_squared_error_forward,
           nnfast::mean_squared_error_backward);
  def_pair("mean_absolute_error", nnfast::mean_absolute_error_forward,
           nnfast::mean_absolute_error_backward);

  m.def(
      "binary_crossentropy_forward",
      [](const py::array& pred, const py::array& target, bool from_logits, float eps,
         const py::array& loss) {
        BufferScope scope("binary_crossentropy_forward");
        auto [rows, cols] = rows_cols(pred, "predictions");
        require_same_size(pred, target, "predictions", "targets");
        check_rows(loss, rows, "loss");
        const float* p = checked<float>(pred, "predictions");
        const float* y = checked<float>(target, "targets");
        float* l = checked<float>(loss, "loss", true);
        py::gil_scoped_release release;
        nnfast::binary_crossentropy_forward(p, y, rows, cols, from_logits, eps, l);
      },
      py::arg("pred"), py::arg("target"), py::arg("from_logits"), py::arg("eps"), py::arg("loss"));
  m.def(
      "binary_crossentropy_backward",
      [](const py::array& pred, const py::array& target, const py::array& drow, bool from_logits,
         float eps, const py::array& dpred) {
        BufferScope scope("binary_crossentropy_backward");
        auto [rows, cols] = rows_cols(pred, "predictions");
        require_same_size(pred, target, "predictions", "targets");
        require_same_size(pred, dpred, "predictions", "dpred");
        check_rows(drow, rows, "row gradient");
        const float* p = checked<float>(pred, "predictions");
        const float* y = checked<float>(target, "targets");
        const float* g = checked<float>(drow, "row gradient");
        float* d = checked<float>(dpred, "dpred", true);
        py::gil_scoped_release release;
        nnfast::binary_crossentropy_backward(p, y, g, rows, cols, from_logits, eps, d);
      },
      py::arg("pred"), py::arg("target"), py::arg("drow"), py::arg("from_logits"),
      py::arg("eps"), py::arg("out"));
}
