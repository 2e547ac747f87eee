// Runtime facts every driver needs: which instruction sets this CPU has, which one the
// kernels may use (capped by NNFAST_MAX_ISA or nnfast.config), threads, and logging.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nnfast {

// Ordered from the most portable to the fastest; a driver picks the highest one allowed.
enum class Isa : int { ref = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
// Parses "ref", "scalar", "avx2", "avx512" (case-insensitive); throws std::invalid_argument.
Isa parse_isa(const std::string& name);

// The best ISA this CPU and OS support (probed once from CPUID and XGETBV).
Isa cpu_best_isa();
// Whether the CPU (and OS) support AVX512_BF16 (vdpbf16ps, vcvtne2ps2bf16), used by the
// bfloat16 GEMM when the ISA is not capped below avx512.
bool cpu_has_avx512_bf16();
// Whether AMX-BF16 tiles can run here: the CPU has them, the OS enables their state, and
// Linux granted this process tile data (requested once, on the first call).
bool cpu_has_amx_bf16();
// Whether the CPU (and OS) support AVX512_VNNI (vpdpbusd), used by the int8 GEMM.
bool cpu_has_avx512_vnni();
// Whether the CPU has AVX-VNNI (256-bit vpdpbusd, VEX encoded; client CPUs without AVX-512).
bool cpu_has_avx_vnni();
// Whether AMX-INT8 tiles (tdpbssd) can run here (CPU, OS state, and Linux's permission).
bool cpu_has_amx_int8();
// The ISA kernels use now: min(cpu_best_isa(), cap). The cap starts from NNFAST_MAX_ISA.
Isa active_isa();
// Caps the ISA; a cap above what the CPU supports is clamped to it.
void set_max_isa(Isa cap);

int num_threads();
void set_num_threads(int n);

// NNFAST_VERBOSE=1 prints one line per kernel family the first time (and every time the
// choice changes) saying which variant runs and why.
bool verbose();
void log_choice(const char* family, const char* variant, const char* why);

// One kernel family of the dispatch registry (cpp/src/runtime/dispatch.h): its name, the
// implementation it chose last ("" before it first ran), and its (name, isa) list, fastest
// first, the reference last.
struct KernelFamily {
  std::string family;
  std::string selected;
  std::vector<std::pair<std::string, std::string>> implementations;
};
std::vector<KernelFamily> kernel_families();

}  // namespace nnfast
