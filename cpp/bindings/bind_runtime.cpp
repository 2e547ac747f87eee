#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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
  m.def(
      "selected_kernels",
      [] {
        py::dict out;
        for (const nnfast::KernelFamily& f : nnfast::kernel_families())
          out[py::str(f.family)] = f.selected.empty() ? py::object(py::none()) : py::str(f.selected);
        return out;
      },
      "The implementation each kernel family chose when it last ran ({family: name}, None for\n"
      "a family that has not run). Set NNFAST_VERBOSE=1 to see why better ones were skipped.");
  m.def(
      "kernel_registry",
      [] {
        py::dict out;
        for (const nnfast::KernelFamily& f : nnfast::kernel_families())
          out[py::str(f.family)] = f.implementations;
        return out;
      },
      "Each kernel family's implementations as [(name, isa)], in the order select() tries\n"
      "them: fastest first, the reference last.");
  m.def("gemm_kernel_name", [] { return std::string(nnfast::sgemm_kernel_name()); });
}
