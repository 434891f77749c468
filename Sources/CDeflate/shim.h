#ifndef LANDCOVER_CDEFLATE_SHIM_H
#define LANDCOVER_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
