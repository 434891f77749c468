#ifndef LANDCOVER_CBLAS_SHIM_H
#define LANDCOVER_CBLAS_SHIM_H
#include <cblas.h>
#endif
