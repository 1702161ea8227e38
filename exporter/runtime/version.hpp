// Build facts, shared by --version and smtp_exporter_build_info.
#pragma once

namespace smtp_exporter {

const char* version();
const char* revision();
const char* compiler();

}  // namespace smtp_exporter
