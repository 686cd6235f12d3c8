// OpenBLAS through its CBLAS header: the GEMM benchmark's peer only (never linked into TensorCore).
#include <cblas.h>
