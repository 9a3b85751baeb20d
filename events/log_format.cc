#include "events/log_format.h"

#include <cstdio>
#include <cstring>

#include "events/crc32c.h"
#include "events/crypto.h"

namespace tl::logfmt {
namespace {

void PutU16(std::string& out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out.append(b, 2);
}
void PutU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}
void PutU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
bool PutStr16(std::string& out, std::string_view s) {
  if (s.size() > 0xffff) return false;
  PutU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
  return true;
}

void AssignHex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
}

bool PutHash(std::string& out, std::string_view hex) {
  unsigned char raw[32];
  if (hex.size() != 64 || !FromLowerHex(hex, raw)) return false;
  out.append(reinterpret_cast<const char*>(raw), sizeof raw);
  return true;
}

// A bounds-checked cursor over a payload.
struct Cursor {
  std::string_view in;
  size_t pos = 0;
  bool ok = true;
  const char* Take(size_t n) {
    if (!ok || in.size() - pos < n) {
      ok = false;
      return nullptr;
    }
    const char* p = in.data() + pos;
    pos += n;
    return p;
  }
  uint64_t U64() {
    const char* p = Take(8);
    return p ? LoadU64(p) : 0;
  }
  uint32_t U32() {
    const char* p = Take(4);
    return p ? LoadU32(p) : 0;
  }
  uint16_t U16() {
    const char* p = Take(2);
    return p ? static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8)
             : 0;
  }
  uint8_t U8() {
    const char* p = Take(1);
    return p ? static_cast<uint8_t>(*p) : 0;
  }
  std::string_view Str(size_t n) {
    const char* p = Take(n);
    return p ? std::string_view(p, n) : std::string_view();
  }
};

}  // namespace

uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

std::string SegmentFileName(Position first) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(first.value()));
  return buf;
}

uint64_t ParseSegmentFileName(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".seg") return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

bool RecordHeader::Matches(std::string_view payload) const {
  return payload.size() == length && Crc32c(payload) == payload_crc;
}

HeaderStatus DecodeRecordHeader(std::string_view bytes, RecordHeader* header) {
  const char* p = bytes.data();
  if (Crc32c(std::string_view(p, 8)) != LoadU32(p + 8)) return HeaderStatus::kChecksumMismatch;
  const uint32_t length = LoadU32(p);
  if (length > kMaxPayload) return HeaderStatus::kLengthOutOfRange;
  *header = RecordHeader{length, LoadU32(p + 4)};
  return HeaderStatus::kOk;
}

void EncodeRecordHeader(uint32_t length, uint32_t payload_crc, char out[kRecordHeaderSize]) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>(length >> (8 * i));
    out[4 + i] = static_cast<char>(payload_crc >> (8 * i));
  }
  const uint32_t header_crc = Crc32c(std::string_view(out, 8));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(header_crc >> (8 * i));
}

std::string EncodeSegmentHeader(Position first) {
  std::string h(kSegmentMagic);
  PutU64(h, first.value());
  PutU32(h, Crc32c(h));
  return h;
}

uint64_t DecodeSegmentHeader(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize || bytes.substr(0, 8) != kSegmentMagic) return 0;
  if (Crc32c(bytes.substr(0, 16)) != LoadU32(bytes.data() + 16)) return 0;
  return LoadU64(bytes.data() + 8);
}

bool AppendRecord(const Event& e, std::string_view idempotency_key, std::string& out) {
  return AppendRecord(e, idempotency_key, out, e.data.dump());
}

bool AppendRecord(const Event& e, std::string_view idempotency_key, std::string& out,
                  std::string_view data) {
  // Written in place: the header's room first, then the payload, then the
  // header over its room (no payload or header string of its own).
  const size_t start = out.size();
  out.reserve(start + kRecordHeaderSize + 64 + e.id.size() + e.token_id.size() + e.actor.size() +
              64 + idempotency_key.size() + data.size());
  out.append(kRecordHeaderSize, '\0');
  out.push_back(static_cast<char>(kPayloadFormat));
  out.push_back(static_cast<char>(e.type));
  PutU64(out, e.position.value());
  PutU64(out, e.version.value());
  PutU64(out, static_cast<uint64_t>(e.time_ms));
  const bool fits = PutStr16(out, e.id) && PutStr16(out, e.token_id) && PutStr16(out, e.actor) &&
                    PutHash(out, e.prev_hash) && PutHash(out, e.hash) &&
                    PutStr16(out, idempotency_key) && data.size() <= kMaxPayload;
  if (fits) {
    PutU32(out, static_cast<uint32_t>(data.size()));
    out.append(data);
  }
  const size_t payload_size = out.size() - start - kRecordHeaderSize;
  if (!fits || payload_size > kMaxPayload) {
    out.resize(start);
    return false;
  }
  const std::string_view payload(out.data() + start + kRecordHeaderSize, payload_size);
  EncodeRecordHeader(static_cast<uint32_t>(payload_size), Crc32c(payload), out.data() + start);
  return true;
}

std::string_view PeekTokenId(std::string_view bytes, size_t* record_size) {
  *record_size = 0;
  RecordHeader header;
  if (bytes.size() < kRecordHeaderSize || DecodeRecordHeader(bytes, &header) != HeaderStatus::kOk ||
      bytes.size() - kRecordHeaderSize < header.length) {
    return {};
  }
  const uint32_t len = header.length;
  Cursor c{bytes.substr(kRecordHeaderSize, len)};
  c.Take(1 + 1 + 8 + 8 + 8);  // format, type, position, version, time
  c.Str(c.U16());             // id
  std::string_view token_id = c.Str(c.U16());
  if (!c.ok) return {};
  *record_size = kRecordHeaderSize + len;
  return token_id;
}

bool DecodePayload(std::string_view payload, bool parse_data, Event& e,
                   std::string* idempotency_key, std::string_view* raw_data,
                   RawHashes* raw_hashes) {
  Cursor c{payload};
  if (c.U8() != kPayloadFormat) return false;
  uint8_t type = c.U8();
  if (type < 1 || type > 8) return false;
  e.type = static_cast<EventType>(type);
  e.position = Position(c.U64());
  e.version = Version(c.U64());
  e.time_ms = static_cast<int64_t>(c.U64());
  e.id = c.Str(c.U16());
  e.token_id = c.Str(c.U16());
  e.actor = c.Str(c.U16());
  std::string_view prev = c.Str(32), hash = c.Str(32);
  std::string_view key = c.Str(c.U16());
  std::string_view data = c.Str(c.U32());
  if (!c.ok || c.pos != payload.size()) return false;
  // In place: a scan reuses one Event, so this allocates nothing per record.
  if (raw_hashes) {
    *raw_hashes = RawHashes{prev, hash};
  } else {
    AssignHex(e.prev_hash, prev);
    AssignHex(e.hash, hash);
  }
  if (idempotency_key) idempotency_key->assign(key);
  if (raw_data) *raw_data = data;
  if (parse_data) {
    e.data = Json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!e.data.is_object()) return false;
  } else if (raw_data) {
    e.data = nullptr;  // an empty object would cost an allocation per record
  } else {
    e.data = Json::object();
  }
  return true;
}

}  // namespace tl::logfmt
