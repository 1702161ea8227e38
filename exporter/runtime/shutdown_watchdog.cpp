#include "exporter/runtime/shutdown_watchdog.hpp"

#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "exporter/runtime/log.hpp"

namespace smtp_exporter::exporter {

void arm_shutdown_watchdog(std::chrono::milliseconds grace) {
  static std::atomic<bool> armed{false};
  if (armed.exchange(true)) return;
  // Detached: an orderly exit ends the process and the thread with it.
  std::thread([grace] {
    std::this_thread::sleep_for(grace);
    log::error("shutdown did not finish in time; exiting now (a thread is stuck, e.g. in a read "
               "from a hung mount)",
               {{"grace", std::to_string(grace.count()) + "ms"}});
    ::_exit(1);
  }).detach();
}

}  // namespace smtp_exporter::exporter
