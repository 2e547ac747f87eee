#include <pybind11/stl.h>

#include <cstring>

#include "bind_util.h"
#include "nnfast/gather.h"

namespace py = pybind11;
using namespace nnfast::bind;

namespace {

// Outputs must not share memory with inputs (the copies would read what they just wrote).
void require_disjoint(const py::array& a, const py::array& b, const char* what) {
  const char* pa = static_cast<const char*>(a.data());
  const char* pb = static_cast<const char*>(b.data());
  const auto na = static_cast<size_t>(a.nbytes()), nb = static_cast<size_t>(b.nbytes());
  if (na && nb && pa < pb + nb && pb < pa + na)
    throw py::value_error(std::string(what) + ": the output must not overlap an input");
}

void require_c_contiguous(const py::array& a, const char* name, bool writeable = false) {
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, received shape " +
                          shape_of(a) + " with strides");
  if (writeable && !a.writeable())
    throw py::value_error(std::string(name) + ": output array is read-only");
}

}  // namespace

void bind_gather(py::module_& m) {
  m.def(
      "take",
      [](const py::array& x, const py::array& indices, int64_t axis, const py::array& out) {
        BufferScope scope("take");
        require_c_contiguous(x, "take input");
        require_c_contiguous(indices, "take indices");
        require_c_contiguous(out, "take output", true);
        if (axis < 0 || axis >= x.ndim())
          throw py::value_error("take: axis " + std::to_string(axis) +
                                " is out of range for an input of shape " + shape_of(x));
        if (!out.dtype().is(x.dtype()))
          throw py::type_error("take: the output dtype " + std::string(py::str(out.dtype())) +
                               " differs from the input's " + std::string(py::str(x.dtype())));
        std::vector<py::ssize_t> want;
        int64_t outer = 1, inner = x.itemsize();
        for (py::ssize_t d = 0; d < axis; ++d) want.push_back(x.shape(d)), outer *= x.shape(d);
        for (py::ssize_t d = 0; d < indices.ndim(); ++d) want.push_back(indices.shape(d));
        for (py::ssize_t d = axis + 1; d < x.ndim(); ++d)
          want.push_back(x.shape(d)), inner *= x.shape(d);
        require_shape(out, want, "take output");
        require_disjoint(out, x, "take");
        require_disjoint(out, indices, "take");
        const int64_t n = x.shape(axis), count = indices.size();
        const bool is64 = indices.dtype().is(py::dtype::of<int64_t>());
        if (!is64 && !indices.dtype().is(py::dtype::of<int32_t>()))
          throw py::type_error("take: expected int32 or int64 indices, received dtype " +
                               std::string(py::str(indices.dtype())));
        int64_t bad;
        {
          py::gil_scoped_release release;
          bad = is64 ? nnfast::gather_rows(x.data(), outer, n, inner,
                                           static_cast<const int64_t*>(indices.data()), count,
                                           const_cast<void*>(out.data()))
                     : nnfast::gather_rows(x.data(), outer, n, inner,
                                           static_cast<const int32_t*>(indices.data()), count,
                                           const_cast<void*>(out.data()));
        }
        if (bad >= 0) {
          const int64_t v = is64 ? static_cast<const int64_t*>(indices.data())[bad]
                                 : static_cast<const int32_t*>(indices.data())[bad];
          throw py::index_error("take: indices must lie in [-" + std::to_string(n) + ", " +
                                std::to_string(n) + "). Received: index " + std::to_string(v) +
                                " at position " + std::to_string(bad) +
                                " (out of bounds for axis " + std::to_string(axis) +
                                " with size " + std::to_string(n) + ")");
        }
      },
      py::arg("x"), py::arg("indices"), py::arg("axis"), py::arg("out"),
      "out = x.take(indices, axis) for C-contiguous arrays of any dtype; negative indices "
      "count from the end; IndexError naming the first index outside [-n, n).");
  m.def(
      "extract_patches_2d",
      [](const py::array& x, std::vector<int64_t> size, std::vector<int64_t> strides,
         std::vector<int64_t> dilation, std::vector<int64_t> pad_before, const py::array& out) {
        BufferScope scope("extract_patches_2d");
        require_ndim(x, 4, "extract_patches_2d input");
        for (auto* v : {&size, &strides, &dilation, &pad_before})
          if (v->size() != 2)
            throw py::value_error("extract_patches_2d: size, strides, dilation and pad_before "
                                  "must each have 2 entries");
        const float* px = checked<float>(x, "extract_patches_2d input");
        float* po = checked<float>(out, "extract_patches_2d output", true);
        require_ndim(out, 4, "extract_patches_2d output");
        nnfast::Patches2D g{x.shape(0), x.shape(1), x.shape(2),  x.shape(3),
                            size[0],    size[1],    strides[0],  strides[1],
                            dilation[0], dilation[1], pad_before[0], pad_before[1],
                            out.shape(1), out.shape(2)};
        int64_t depth = 0;
        if (__builtin_mul_overflow(size[0], size[1], &depth) ||
            __builtin_mul_overflow(depth, static_cast<int64_t>(x.shape(3)), &depth))
          throw py::value_error("extract_patches_2d: the patch size overflows 64-bit sizes");
        require_shape(out, {x.shape(0), out.shape(1), out.shape(2), depth},
                      "extract_patches_2d output");
        require_disjoint(out, x, "extract_patches_2d");
        py::gil_scoped_release release;
        nnfast::extract_patches_2d(px, g, po);
      },
      py::arg("x"), py::arg("size"), py::arg("strides"), py::arg("dilation"),
      py::arg("pad_before"), py::arg("out"),
      "Patches of channels_last (N, H, W, C) float32 images into out (N, OH, OW, KH*KW*C); "
      "window pixels outside the image read 0.");
}
