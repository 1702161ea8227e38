#include "tests/support/token_endpoint.hpp"

#include <boost/json/parse.hpp>

#include <fstream>

namespace smtp_test {

token_endpoint::token_endpoint(const temp_dir& dir, const test_pki::leaf& leaf,
                               const std::string& script, std::vector<std::string> extra)
    : script_(dir.path() / ("script" + std::to_string(++instances_) + ".json")),
      log_(dir.path() / ("requests" + std::to_string(instances_) + ".jsonl")) {
  set_script(script);
  std::vector<std::string> argv{"/usr/bin/python3",
                                (source_dir() / "tests/peers/token_endpoint.py").string(),
                                "--cert", leaf.chain_file.string(), "--key",
                                leaf.key_file.string(), "--script", script_.string(), "--log",
                                log_.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<child_process>(
      argv, dir.path() / ("endpoint" + std::to_string(instances_) + ".log"));
  port_ = process_->wait_ready();
}

void token_endpoint::set_script(const std::string& script) {
  if (fs::exists(script_)) {
    replace_file(script_, script);
  } else {
    std::ofstream(script_) << script;
  }
}

std::vector<boost::json::object> token_endpoint::requests() const {
  std::vector<boost::json::object> out;
  std::ifstream in(log_);
  for (std::string line; std::getline(in, line);) {
    out.push_back(boost::json::parse(line).as_object());
  }
  return out;
}

}  // namespace smtp_test
