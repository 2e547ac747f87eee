// Optimizer updates: in-place fused passes over a variable, its gradient and its slots.
// Every function takes the common keyword arguments grad_scale (clipnorm factor),
// clip_lo/clip_hi (clipvalue) and decay (weight_decay * lr), folded into the same pass.
#include <limits>

#include "bind_util.h"
#include "nnfast/optimizer.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The variable, its gradient and the slots must all be float32, C-contiguous, of one size.
struct Buffers {
  float* w;
  const float* g;
  int64_t n;
};

Buffers variable_and_grad(const py::array& w, const py::array& g) {
  require_same_size(w, g, "variable", "gradient");
  return {checked<float>(w, "variable", true), checked<float>(g, "gradient"),
          static_cast<int64_t>(w.size())};
}

float* slot(const py::array& w, const py::object& s, const char* name, bool required = true) {
  if (s.is_none()) {
    if (required) throw py::value_error(std::string("missing optimizer slot '") + name + "'");
    return nullptr;
  }
  py::array a = py::cast<py::array>(s);
  require_same_size(w, a, "variable", name);
  return checked<float>(a, name, true);
}

nnfast::OptimizerCommon common(float grad_scale, float clip_lo, float clip_hi, float decay) {
  nnfast::OptimizerCommon c;
  c.grad_scale = grad_scale;
  c.clip_lo = clip_lo;
  c.clip_hi = clip_hi;
  c.decay = decay;
  return c;
}

#define NNFAST_COMMON_ARGS                                                          \
  py::kw_only(), py::arg("grad_scale") = 1.0f, py::arg("clip_lo") = -kInf,          \
      py::arg("clip_hi") = kInf, py::arg("decay") = 0.0f

}  // namespace

void bind_optimizer(py::module_& m) {
  m.def(
      "sgd_update",
      [](const py::array& w, const py::array& g, const py::object& mom, float lr, float momentum,
         bool nesterov, float gs, float lo, float hi, float decay) {
        BufferScope scope("sgd_update");
        Buffers b = variable_and_grad(w, g);
        float* pm = slot(w, mom, "momentum", momentum != 0.0f);
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::sgd_update(b.w, b.g, pm, b.n, lr, momentum, nesterov, c);
      },
      py::arg("w"), py::arg("g"), py::arg("momentum_buf"), py::arg("lr"), py::arg("momentum"),
      py::arg("nesterov"), NNFAST_COMMON_ARGS);
  m.def(
      "adam_update",
      [](const py::array& w, const py::array& g, const py::object& m_, const py::object& v,
         const py::object& vhat, float lr, float b1, float b2, float eps, int64_t step, float gs,
         float lo, float hi, float decay) {
        BufferScope scope("adam_update");
        Buffers b = variable_and_grad(w, g);
        float* pm = slot(w, m_, "momentum");
        float* pv = slot(w, v, "velocity");
        float* ph = slot(w, vhat, "velocity_hat", false);
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::adam_update(b.w, b.g, pm, pv, ph, b.n, lr, b1, b2, eps, step, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("v"), py::arg("vhat"), py::arg("lr"),
      py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("step"),
      NNFAST_COMMON_ARGS);
  m.def(
      "adam_update_token_rows",
      [](const py::array& w, const py::array& m_, const py::array& v, const py::array& ids,
         const py::array& g_rows, const py::array& sq_rows, float lr, float b1, float b2,
         float eps, int64_t step, float decay) {
        BufferScope scope("adam_update_token_rows");
        require_ndim(w, 2, "variable");
        float* pw = checked<float>(w, "variable", true);
        float* pm = slot(w, m_, "momentum");
        float* pv = slot(w, v, "velocity");
        const int64_t* pi = checked<int64_t>(ids, "ids");
        const float* pg = checked<float>(g_rows, "g_rows");
        const float* pq = checked<float>(sq_rows, "sq_rows");
        const int64_t vocab = w.shape(0), dim = w.shape(1), n = ids.size();
        if (g_rows.size() != n * dim || sq_rows.size() != n * dim)
          throw py::value_error("adam_update_token_rows: g_rows and sq_rows must hold " +
                                std::to_string(n * dim) + " floats (ids " + shape_of(ids) +
                                " x dim " + std::to_string(dim) + "), received g_rows " +
                                shape_of(g_rows) + " and sq_rows " + shape_of(sq_rows));
        py::gil_scoped_release release;
        nnfast::adam_update_token_rows(pw, pm, pv, vocab, dim, pi, n, pg, pq, lr, b1, b2, eps,
                                       step, decay);
      },
      py::arg("w"), py::arg("m"), py::arg("v"), py::arg("ids"), py::arg("g_rows"),
      py::arg("sq_rows"), py::arg("lr"), py::arg("beta_1"), py::arg("beta_2"),
      py::arg("epsilon"), py::arg("step"), py::kw_only(), py::arg("decay") = 0.0f,
      "Adam on a (vocab, dim) table whose gradient is zero but on the distinct rows ids, "
      "which take g_rows with the per-token sums of squares sq_rows for v (Keras's rule).");
  m.def(
      "rmsprop_update",
      [](const py::array& w, const py::array& g, const py::object& v, const py::object& mom,
         const py::object& avg, float lr, float rho, float momentum, float eps, float gs,
         float lo, float hi, float decay) {
        BufferScope scope("rmsprop_update");
        Buffers b = variable_and_grad(w, g);
        float* pv = slot(w, v, "velocity");
        float* pm = slot(w, mom, "momentum", momentum > 0.0f);
        float* pa = slot(w, avg, "average_gradient", false);
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::rmsprop_update(b.w, b.g, pv, pm, pa, b.n, lr, rho, momentum, eps, c);
      },
      py::arg("w"), py::arg("g"), py::arg("velocity"), py::arg("momentum_buf"),
      py::arg("average_grad"), py::arg("lr"), py::arg("rho"), py::arg("momentum"),
      py::arg("epsilon"), NNFAST_COMMON_ARGS);
  m.def(
      "adagrad_update",
      [](const py::array& w, const py::array& g, const py::object& acc, float lr, float eps,
         float gs, float lo, float hi, float decay) {
        BufferScope scope("adagrad_update");
        Buffers b = variable_and_grad(w, g);
        float* pa = slot(w, acc, "accumulator");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::adagrad_update(b.w, b.g, pa, b.n, lr, eps, c);
      },
      py::arg("w"), py::arg("g"), py::arg("accumulator"), py::arg("lr"), py::arg("epsilon"),
      NNFAST_COMMON_ARGS);
  m.def(
      "adadelta_update",
      [](const py::array& w, const py::array& g, const py::object& eg, const py::object& edx,
         float lr, float rho, float eps, float gs, float lo, float hi, float decay) {
        BufferScope scope("adadelta_update");
        Buffers b = variable_and_grad(w, g);
        float* pg2 = slot(w, eg, "accumulated_grad");
        float* pdx = slot(w, edx, "accumulated_delta_var");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::adadelta_update(b.w, b.g, pg2, pdx, b.n, lr, rho, eps, c);
      },
      py::arg("w"), py::arg("g"), py::arg("accumulated_grad"), py::arg("accumulated_delta_var"),
      py::arg("lr"), py::arg("rho"), py::arg("epsilon"), NNFAST_COMMON_ARGS);
  m.def(
      "adamax_update",
      [](const py::array& w, const py::array& g, const py::object& m_, const py::object& u,
         float lr, float b1, float b2, float eps, int64_t step, float gs, float lo, float hi,
         float decay) {
        BufferScope scope("adamax_update");
        Buffers b = variable_and_grad(w, g);
        float* pm = slot(w, m_, "momentum");
        float* pu = slot(w, u, "norm");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::adamax_update(b.w, b.g, pm, pu, b.n, lr, b1, b2, eps, step, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("u"), py::arg("lr"), py::arg("beta_1"),
      py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), NNFAST_COMMON_ARGS);
  m.def(
      "nadam_update",
      [](const py::array& w, const py::array& g, const py::object& m_, const py::object& v,
         float lr, float b1, float b2, float eps, int64_t step, double u_product, float gs,
         float lo, float hi, float decay) {
        BufferScope scope("nadam_update");
        Buffers b = variable_and_grad(w, g);
        float* pm = slot(w, m_, "momentum");
        float* pv = slot(w, v, "velocity");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::nadam_update(b.w, b.g, pm, pv, b.n, lr, b1, b2, eps, step, u_product, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("v"), py::arg("lr"), py::arg("beta_1"),
      py::arg("beta_2"), py::arg("epsilon"), py::arg("step"), py::arg("u_product"),
      NNFAST_COMMON_ARGS);
  m.def(
      "ftrl_update",
      [](const py::array& w, const py::array& g, const py::object& acc, const py::object& lin,
         float lr, float power, float l1, float l2_total, float l2_shrinkage, float gs, float lo,
         float hi, float decay) {
        BufferScope scope("ftrl_update");
        Buffers b = variable_and_grad(w, g);
        float* pa = slot(w, acc, "accumulator");
        float* pl = slot(w, lin, "linear");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::ftrl_update(b.w, b.g, pa, pl, b.n, lr, power, l1, l2_total, l2_shrinkage, c);
      },
      py::arg("w"), py::arg("g"), py::arg("accumulator"), py::arg("linear"), py::arg("lr"),
      py::arg("learning_rate_power"), py::arg("l1"), py::arg("l2_total"),
      py::arg("l2_shrinkage"), NNFAST_COMMON_ARGS);
  m.def(
      "lion_update",
      [](const py::array& w, const py::array& g, const py::object& m_, float lr, float b1,
         float b2, float gs, float lo, float hi, float decay) {
        BufferScope scope("lion_update");
        Buffers b = variable_and_grad(w, g);
        float* pm = slot(w, m_, "momentum");
        auto c = common(gs, lo, hi, decay);
        py::gil_scoped_release release;
        nnfast::lion_update(b.w, b.g, pm, b.n, lr, b1, b2, c);
      },
      py::arg("w"), py::arg("g"), py::arg("m"), py::arg("lr"), py::arg("beta_1"),
      py::arg("beta_2"), NNFAST_COMMON_ARGS);
  m.def(
      "sum_squares",
      [](const py::array& x) {
        BufferScope scope("sum_squares");
        const float* px = checked<float>(x, "x");
        const int64_t n = x.size();
        py::gil_scoped_release release;
        return nnfast::sum_squares(px, n);
      },
      py::arg("x"), "sum(x**2) of a float32 array, accumulated in double.");
  m.def(
      "ema_update",
      [](const py::array& avg, const py::array& w, float momentum) {
        BufferScope scope("ema_update");
        require_same_size(avg, w, "average", "variable");
        float* pa = checked<float>(avg, "average", true);
        const float* pw = checked<float>(w, "variable");
        const int64_t n = w.size();
        py::gil_scoped_release release;
        nnfast::ema_update(pa, pw, n, momentum);
      },
      py::arg("average"), py::arg("w"), py::arg("momentum"));
}
