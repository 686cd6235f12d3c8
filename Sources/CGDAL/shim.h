// GDAL's C API for Swift (Debian libgdal-dev; pkg-config name "gdal").
#ifndef NEIGHBORMAE_CGDAL_SHIM_H
#define NEIGHBORMAE_CGDAL_SHIM_H
#include <gdal.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <ogr_srs_api.h>
#endif
