#include <pybind11/pybind11.h>

#include "nnfast/gemm.h"
#include "nnfast/runtime.h"

namespace py = pybind11;

void bind_runtime(py::module_& m) {
  m.def("cpu_best_isa", [] { return std::string(nnfast::isa_name(nnfast::cpu_best_isa())); },
        "Best instruction set this CPU supports: 'avx512', 'avx2' or 'ref'.");
  m.def("active_isa", [] { return std::string(nnfast::isa_name(nnfast::active_isa())); },
        "Instruction set the kernels use now (the CPU's best, capped by set_max_isa).");
  m.def("set_max_isa", [](const std::string& name) { nnfast::set_max_isa(nnfast::parse_isa(name)); },
        py::arg("name"));
  m.def("num_threads", &nnfast::num_threads);
  m.def("set_num_threads", &nnfast::set_num_threads, py::arg("n"));
  m.def("gemm_kernel_name", [] { return std::string(nnfast::sgemm_kernel_name()); });
}
