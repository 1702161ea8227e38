// glibc malloc settings for a long-running exporter with 10,000 targets (bench/README.md,
// "Memory at 10,000 STARTTLS targets"): without them, free memory that malloc keeps in its
// per-thread arenas cost about 1 KiB per target of RSS.
//
// - M_MMAP_THRESHOLD fixed at 128 KiB: by default glibc raises the threshold to the size of the
//   largest block freed (up to 32 MiB), so after the first scrape every scrape's text comes from
//   the scrape thread's arena, and up to twice that stays there, free, between scrapes.
// - M_ARENA_MAX 2: the loop thread's arena and one for the helper threads (scrapes, pages, config
//   parsing), instead of one per thread, each keeping its own free memory.
// bench_render measured no change in render CPU (plain or gzip).
//
// An operator's own choice wins: nothing is changed when GLIBC_TUNABLES, MALLOC_ARENA_MAX or
// MALLOC_MMAP_THRESHOLD_ is set in the environment.
//
// Thread-safety: call once, at the start of main(), before any thread is started.
#pragma once

namespace smtp_exporter::exporter {

// True when the settings above were applied.
bool tune_malloc();

}  // namespace smtp_exporter::exporter
