/* Brings PN_VERSION_* (declared in cdef/version.h) into the compiled module: no header in
 * build.py's preamble includes <proton/version.h>. */
#include <proton/version.h>
