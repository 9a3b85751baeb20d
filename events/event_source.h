#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "events/event.h"

namespace tl {

// A readable, followable sequence of durable events in position order. The
// local log implements it; the Kafka relay and tests consume it.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // Up to `max` durable events with position >= `from`, in position order.
  // Thread-safe.
  virtual std::vector<Event> Read(Position from, size_t max) const = 0;
  // The highest durable position (0 when empty). Thread-safe.
  virtual Position DurablePosition() const = 0;
  // Blocks until DurablePosition() > `after` or `timeout` passes; returns
  // DurablePosition(). Thread-safe.
  virtual Position WaitForNew(Position after, std::chrono::milliseconds timeout) const = 0;
};

}  // namespace tl
