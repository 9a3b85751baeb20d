// Writes the seed files of the segment_reader and snapshot_reader targets
// that only the real writers can make: segments written by EventLog and a
// snapshot written by WriteSnapshot, each behind the targets' mode byte
// (0: as written). Usage: fuzz_make_seeds CORPUS_DIR (tests/fuzz/corpus).

#include <cstdio>
#include <filesystem>
#include <string>

#include "events/crypto.h"
#include "events/file_util.h"
#include "events/log.h"
#include "events/log_format.h"
#include "projections/projection.h"
#include "projections/replay.h"
#include "projections/snapshot.h"
#include "projections/test_events.h"

namespace {

namespace fs = std::filesystem;

void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_make_seeds: %s\n", what.c_str());
  std::exit(1);
}

std::string Read(const std::string& path) {
  auto bytes = tl::ReadWholeFile(path);
  if (!bytes.ok()) Die("reading " + path);
  return *bytes;
}

void Write(const fs::path& path, std::string_view mode_and_bytes) {
  if (!tl::WriteFileAtomically(path.string(), mode_and_bytes).ok()) Die("writing " + path.string());
}

// A log of `n` plausible events in `dir`, one segment; returns its path.
std::string MakeLog(const std::string& dir, size_t n, uint32_t seed, bool close) {
  auto log = tl::EventLog::Open(dir);
  if (!log.ok()) Die("open: " + log.error().message);
  for (const tl::Event& e : tl::testing::RandomEvents(n, seed)) {
    tl::AppendRequest r;
    r.token_id = e.token_id;
    r.time_ms = e.time_ms;
    r.actor = e.actor;
    if (e.position.value() % 7 == 0)
      r.idempotency_key = "key-" + std::to_string(e.position.value());
    r.events.emplace_back(e.type, e.data);
    if (auto appended = (*log)->Append(std::move(r)); !appended.ok()) {
      Die("append: " + appended.error().message);
    }
  }
  const std::string path = dir + "/" + tl::logfmt::SegmentFileName(tl::Position(1));
  if (!close) {
    // While the log is open the segment ends in preallocated zeros.
    std::string bytes = Read(path);
    log->reset();
    return bytes;
  }
  log->reset();
  return Read(path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) Die("usage: fuzz_make_seeds CORPUS_DIR");
  const fs::path corpus = argv[1];
  const fs::path tmp = fs::temp_directory_path() / ("tl-make-seeds-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  const std::string mode(1, '\0');

  // Segments: short and longer logs, a torn last record, preallocated zeros.
  const fs::path segs = corpus / "segment_reader";
  fs::create_directories(segs);
  std::string small = MakeLog((tmp / "a").string(), 4, 1, true);
  Write(segs / "real-4-events", mode + small);
  std::string longer = MakeLog((tmp / "b").string(), 25, 2, true);
  Write(segs / "real-25-events", mode + longer);
  Write(segs / "real-torn-tail", mode + longer.substr(0, longer.size() - 37));
  std::string open = MakeLog((tmp / "c").string(), 3, 3, false);
  const size_t end = open.find_last_not_of('\0') + 1;
  Write(segs / "real-preallocated-tail", mode + open.substr(0, std::min(open.size(), end + 300)));

  // A snapshot of a replayed log.
  const fs::path snaps = corpus / "snapshot_reader";
  fs::create_directories(snaps);
  const std::string log_dir = (tmp / "d").string();
  MakeLog(log_dir, 30, 4, true);
  tl::Projection p;
  if (auto replayed = tl::ReplayLog(log_dir, p); !replayed.ok()) Die("replay");
  const std::string snap_dir = (tmp / "snapshots").string();
  if (!tl::WriteSnapshot(snap_dir, p, std::string(64, 'a')).ok()) Die("snapshot");
  for (const auto& entry : fs::directory_iterator(snap_dir)) {
    Write(snaps / "real-30-events", mode + Read(entry.path().string()));
  }
  // Format 1, which is still read: one document whose sha256 covers the
  // exact bytes of the state.
  const std::string state = p.ToJson().dump();
  Write(snaps / "format1-30-events",
        mode + "{\"format\":1,\"position\":" + std::to_string(p.last_position().value()) +
            ",\"sha256\":\"" + tl::Sha256Hex(state) + "\",\"state\":" + state + "}");
  fs::remove_all(tmp);
  return 0;
}
