#include <stdexcept>
#include <string>

#include "nnfast/runtime.h"
#ifdef NNFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace nnfast {

int num_threads() {
#ifdef NNFAST_HAVE_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
#ifdef NNFAST_HAVE_OPENMP
  omp_set_num_threads(n);
#endif
}

}  // namespace nnfast
