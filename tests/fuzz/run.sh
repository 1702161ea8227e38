#!/usr/bin/env bash
# Builds the fuzz targets with clang's libFuzzer, ASan and UBSan, and runs each for a bounded
# time from its seed corpus (tests/fuzz/corpus/*). Any crash, leak or abort fails the test.
# Usage: run.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?build dir}/fuzz
seconds=${2:-15}
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root")
build() {  # name sources... -- libs...
  local name=$1; shift
  local srcs=() libs=()
  while (($#)) && [[ $1 != -- ]]; do srcs+=("$1"); shift; done
  (($#)) && shift
  libs=("$@")
  clang++ "${flags[@]}" "${srcs[@]}" -o "$out/$name" "${libs[@]}"
}
build smtp_reply_fuzz "$here/smtp_reply_fuzz.cpp" "$root/probes/smtp/reply.cpp" "$root/probes/smtp/ehlo.cpp" \
  "$root/probes/core/result.cpp"
# The exporter links Debian's compiled toml++ (TOML_HEADER_ONLY=0, libtomlplusplus.so, as its
# CMake package says); fuzz that same library rather than a clang header-only build of it, whose
# debug asserts and unreachable-markers fire on inputs the shipped library rejects cleanly.
# config/ reads its files through common/ (bounded_read) and holds the YAML web config too.
build config_fuzz "$here/config_fuzz.cpp" "$root"/config/*.cpp "$root"/common/*.cpp \
  -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -- -ltomlplusplus -lyaml-cpp -lssl -lcrypto
build web_config_fuzz "$here/web_config_fuzz.cpp" "$root/config/web_config.cpp" \
  "$root/common/bounded_read.cpp" -- -lyaml-cpp -lcrypto
build sasl_fuzz "$here/sasl_fuzz.cpp" "$root/probes/smtp/sasl.cpp" "$root/common/base64.cpp" \
  "$root/common/json_impl.cpp" "$root/common/text_escape.cpp" "$root/probes/core/result.cpp" -- -lcrypto
# probes/imap: the IMAP answer parsers and the Authentication-Results parser (pure, no libcurl).
build imap_response_fuzz "$here/imap_response_fuzz.cpp" "$root/probes/imap/responses.cpp"
build auth_results_fuzz "$here/auth_results_fuzz.cpp" "$root/probes/imap/auth_results.cpp"
# probes/dns: SPF records and macros, DMARC tags (anyone publishes these), and DNS responses.
# (Pure sources only: clang 14 cannot build Asio coroutines with these sanitizers.)
build spf_record_fuzz "$here/spf_record_fuzz.cpp" "$root/probes/dns/spf_record.cpp" \
  "$root/probes/dns/spf_macro.cpp" "$root/probes/dns/address_names.cpp" \
  "$root/probes/dns/dmarc_record.cpp" "$root/common/text_escape.cpp"
build dns_message_fuzz "$here/dns_message_fuzz.cpp" "$root/probes/dns/dns_message.cpp"

failed=0
for target in smtp_reply config sasl web_config imap_response auth_results spf_record dns_message; do
  work="$out/corpus-$target"
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  if ! "$out/${target}_fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$out/$target-" "$work" "$here/corpus/$target" > "$out/$target.log" 2>&1; then
    echo "FAIL: $target (see $out/$target.log)"; tail -40 "$out/$target.log"; failed=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/$target.log" | tail -2
  fi
done
exit $failed
