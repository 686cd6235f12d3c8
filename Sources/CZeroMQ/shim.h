// libzmq (apt: libzmq3-dev). No pkgConfig on purpose: Debian's libzmq.pc drags in krb5 include flags that
// SwiftPM prohibits, and the headers and library are on the default search paths anyway.
#include <zmq.h>
