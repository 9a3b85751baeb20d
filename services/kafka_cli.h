#pragma once

#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "events/result.h"

namespace tl {

// `tokenledger consume --brokers B --topic T --group G [--from-beginning]
//   [--type TYPE] [--property k=v]... [--max-idle-ms N]`
// An audit tail: joins consumer group G (session.timeout.ms=6000), prints each
// event once as a JSON line (EventToJson) on stdout, commits offsets, and
// verifies the hash chain as events arrive from all partitions (ChainChecker).
// --from-beginning starts at the earliest offset when the group has no
// committed offset (Kafka's auto.offset.reset semantics); otherwise only new
// events are read. --type prints only that event type (the chain is still
// verified over all). --max-idle-ms exits 0 after N ms without a message
// (counted from the first partition assignment). Runs until SIGINT/SIGTERM
// otherwise. Exit codes: 0 done, 1 Kafka error, 2 usage, 3 chain break or a
// message that is not one of our events (reported on stderr with positions).
int RunConsume(const std::vector<std::string>& args);

// `tokenledger dev-kafka [--brokers N] [--port P]`
// Starts librdkafka's in-memory mock cluster on loopback, prints
// "bootstrap: HOST:PORT,..." on stdout (flushed) and runs until SIGINT or
// SIGTERM. --port P additionally listens on 127.0.0.1:P and forwards each
// connection to the first broker, so clients can use a fixed bootstrap
// address (librdkafka 2.0.2's mock cannot choose its ports; metadata then
// points clients at the brokers' own ports). Exit codes: 0, 2 usage, 1 error.
int RunDevKafka(const std::vector<std::string>& args);

// The whole verified history of `topic` in position order, for
// `replay --from-kafka` and `restore --from-kafka` (see ReadTopic).
Result<std::vector<Event>> ReadEventsFromKafka(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& properties = {});

}  // namespace tl
