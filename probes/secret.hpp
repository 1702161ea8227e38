// The secret types live in common/ (config/ holds inline passwords too); probes use them by
// their old names.
#pragma once

#include "common/secret.hpp"

namespace smtp_exporter::probes {
using smtp_exporter::cleanse;
using smtp_exporter::secret_string;
using smtp_exporter::shared_secret;
}  // namespace smtp_exporter::probes
