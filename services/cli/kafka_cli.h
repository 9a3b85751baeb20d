#pragma once

#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "services/cli/cli_args.h"

namespace tl {

// `tokenledger consume --brokers B [--topic T] --group G [--from-beginning]
//   [--type TYPE] [--property k=v]... [--max-idle-ms N]`
// An audit tail: joins consumer group G (session.timeout.ms=6000), prints each
// event once, in position order, as a JSON line (EventToJson) on stdout,
// commits offsets only over what it printed, and verifies the hash chain
// (PositionOrder). The brokers must answer metadata within kMetadataTimeout
// (10 s) and the topic must exist, else exit 1 with a message.
// --from-beginning starts at the earliest offset when the group has no
// committed offset (Kafka's auto.offset.reset semantics); otherwise only new
// events are read. --type prints only that event type (the chain is still
// verified over all). --max-idle-ms exits after N ms without a message
// (counted from the first partition assignment). Runs until SIGINT/SIGTERM
// otherwise. A position missing while later ones were read is a chain break
// once it has been missing for 30 s, or when --max-idle-ms ends the run.
// Exit codes: 0 done, 1 Kafka error, 2 usage, 3 chain break (an altered
// event, a hole, or a message that is not one of our events; reported on
// stderr with positions, nothing past it printed or committed).
const CommandSpec& ConsumeSpec();
int RunConsume(const CliArgs& a);
// The same with `args` parsed against ConsumeSpec() (--help prints it).
int RunConsume(const std::vector<std::string>& args);

// `tokenledger dev-kafka [--brokers N] [--port P]`
// Starts librdkafka's in-memory mock cluster on loopback, prints
// "bootstrap: HOST:PORT,..." on stdout (flushed) and runs until SIGINT or
// SIGTERM. --port P additionally listens on 127.0.0.1:P and forwards each
// connection to the first broker, so clients can use a fixed bootstrap
// address (librdkafka 2.0.2's mock cannot choose its ports; metadata then
// points clients at the brokers' own ports). Exit codes: 0, 2 usage, 1 error.
const CommandSpec& DevKafkaSpec();
int RunDevKafka(const CliArgs& a);
int RunDevKafka(const std::vector<std::string>& args);

// The whole verified history of `topic` in position order, for
// `replay --from-kafka` and `restore --from-kafka` (see ReadTopic).
Result<std::vector<Event>> ReadEventsFromKafka(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& properties = {});

}  // namespace tl
