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

// The shape of x.take(indices, axis) (axis already in [0, x.ndim)), and the (outer, row
// bytes) view of x that the kernel gathers rows from.
struct TakeGeometry {
  std::vector<py::ssize_t> shape;
  int64_t outer = 1, row_bytes = 0;
};
TakeGeometry take_geometry(const py::array& x, const py::array& indices, int64_t axis) {
  TakeGeometry g;
  g.row_bytes = x.itemsize();
  for (py::ssize_t d = 0; d < axis; ++d) g.shape.push_back(x.shape(d)), g.outer *= x.shape(d);
  for (py::ssize_t d = 0; d < indices.ndim(); ++d) g.shape.push_back(indices.shape(d));
  for (py::ssize_t d = axis + 1; d < x.ndim(); ++d)
    g.shape.push_back(x.shape(d)), g.row_bytes *= x.shape(d);
  return g;
}

// Gathers into `out` (shape checked by the caller); IndexError naming the first bad index.
// NOTE: the GIL is kept for outputs under 64 KiB: releasing and taking it back costs about
// as much as such a copy, and a training step's small gathers run one after another.
void run_take(const py::array& x, const py::array& indices, int64_t axis,
              const TakeGeometry& g, bool is64, const py::array& out) {
  const int64_t n = x.shape(axis), count = indices.size();
  auto gather = [&] {
    return is64 ? nnfast::gather_rows(x.data(), g.outer, n, g.row_bytes,
                                      static_cast<const int64_t*>(indices.data()), count,
                                      const_cast<void*>(out.data()))
                : nnfast::gather_rows(x.data(), g.outer, n, g.row_bytes,
                                      static_cast<const int32_t*>(indices.data()), count,
                                      const_cast<void*>(out.data()));
  };
  int64_t bad;
  if (out.nbytes() < (1 << 16)) {
    bad = gather();
  } else {
    py::gil_scoped_release release;
    bad = gather();
  }
  if (bad >= 0) {
    const int64_t v = is64 ? static_cast<const int64_t*>(indices.data())[bad]
                           : static_cast<const int32_t*>(indices.data())[bad];
    throw py::index_error("take: indices must lie in [-" + std::to_string(n) + ", " +
                          std::to_string(n) + "). Received: index " + std::to_string(v) +
                          " at position " + std::to_string(bad) + " (out of bounds for axis " +
                          std::to_string(axis) + " with size " + std::to_string(n) + ")");
  }
}

// Arrays holding Python object pointers (object dtype, or records with object fields): a
// byte copy would duplicate references without counting them.
bool holds_objects(const py::array& x) {
  constexpr std::uint64_t kItemHasObject = 0x01;  // NumPy's NPY_ITEM_HASOBJECT
  return (x.dtype().flags() & kItemHasObject) != 0;
}

bool native_index_dtype(const py::array& indices, bool* is64) {
  *is64 = indices.dtype().is(py::dtype::of<int64_t>()) ||
          same_dtype(indices.dtype(), py::dtype::of<int64_t>());
  return *is64 || same_dtype(indices.dtype(), py::dtype::of<int32_t>());
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
        if (holds_objects(x))
          throw py::type_error("take: arrays of Python objects are not supported, received "
                               "dtype " + std::string(py::str(x.dtype())));
        if (!out.dtype().is(x.dtype()))
          throw py::type_error("take: the output dtype " + std::string(py::str(out.dtype())) +
                               " differs from the input's " + std::string(py::str(x.dtype())));
        const TakeGeometry g = take_geometry(x, indices, axis);
        require_shape(out, g.shape, "take output");
        require_disjoint(out, x, "take");
        require_disjoint(out, indices, "take");
        bool is64 = false;
        if (!native_index_dtype(indices, &is64))
          throw py::type_error("take: expected int32 or int64 indices, received dtype " +
                               std::string(py::str(indices.dtype())));
        run_take(x, indices, axis, g, is64, out);
      },
      py::arg("x"), py::arg("indices"), py::arg("axis"), py::arg("out"),
      "out = x.take(indices, axis) for C-contiguous arrays of any dtype; negative indices "
      "count from the end; IndexError naming the first index outside [-n, n).");
  // ops.take's fast path: one call that checks, allocates and gathers (no Python between).
  m.def(
      "take_new_array",
      [](const py::array& x, const py::array& indices, int64_t axis) -> py::object {
        BufferScope scope("take_new_array");  // (new output: nothing to overlap; kept uniform)
        bool is64 = false;
        if (holds_objects(x) || !(x.flags() & py::array::c_style) ||
            !(indices.flags() & py::array::c_style) || !native_index_dtype(indices, &is64))
          return py::none();  // the caller's general path copies or converts first
        if (axis < -x.ndim() || axis >= x.ndim())
          throw py::value_error("take: axis " + std::to_string(axis) +
                                " is out of range for a tensor of rank " +
                                std::to_string(x.ndim()) + ".");
        if (axis < 0) axis += x.ndim();
        const TakeGeometry g = take_geometry(x, indices, axis);
        py::array out(x.dtype(), g.shape);
        run_take(x, indices, axis, g, is64, out);
        return std::move(out);
      },
      py::arg("x"), py::arg("indices"), py::arg("axis"),
      "A new array x.take(indices, axis) (negative axis counted from the end), or None when "
      "x is an object array, x or indices is not C-contiguous, or indices are not native "
      "int32/int64 (the caller converts those). IndexError naming the first index outside "
      "[-n, n).");
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
