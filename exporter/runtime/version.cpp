#include "exporter/runtime/version.hpp"

#ifndef SMTP_EXPORTER_VERSION
#define SMTP_EXPORTER_VERSION "unknown"
#endif
#ifndef SMTP_EXPORTER_REVISION
#define SMTP_EXPORTER_REVISION "unknown"
#endif

namespace smtp_exporter {

const char* version() { return SMTP_EXPORTER_VERSION; }
const char* revision() { return SMTP_EXPORTER_REVISION; }
const char* compiler() { return "gcc " __VERSION__; }

}  // namespace smtp_exporter
