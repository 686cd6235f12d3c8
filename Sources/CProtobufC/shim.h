// protobuf-c runtime (apt: libprotobuf-c-dev), used by the generated code in WireC and by Wire.
#include <protobuf-c/protobuf-c.h>
