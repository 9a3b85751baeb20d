#include "projections/use_data.h"

namespace tl {
namespace {

Json OptionalString(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

// token.used and token.use_denied are ~98% of a log, and building a JSON object for each costs
// more than the rest of the fold. Their data as the log holds it is a flat,
// compact object (nlohmann's dump: no whitespace, keys sorted) of integers,
// ASCII strings, nulls and arrays of those. This reader accepts exactly such
// objects and returns false for anything else (escapes, non-ASCII, floats,
// nested objects, repeated keys, ...) so that the caller falls back to
// nlohmann: whatever it accepts is valid JSON read the way nlohmann reads it.

struct CompactUseFields {
  std::optional<int64_t> cost;           // set when "cost" is an integer
  std::optional<std::string_view> code;  // set when "code" is a string
};

class CompactReader {
 public:
  explicit CompactReader(std::string_view s) : s_(s) {}

  bool Object(CompactUseFields& out) {
    if (!Eat('{')) return false;
    bool seen_cost = false, seen_code = false;
    if (Eat('}')) return AtEnd();
    while (true) {
      std::string_view key;
      if (!String(key) || !Eat(':')) return false;
      const bool is_cost = key == "cost", is_code = key == "code";
      if ((is_cost && seen_cost) || (is_code && seen_code)) return false;  // nlohmann: last wins
      seen_cost |= is_cost;
      seen_code |= is_code;
      if (Peek() == '"') {
        std::string_view v;
        if (!String(v)) return false;
        if (is_code) out.code = v;
      } else if (Peek() == '[') {
        if (!Array()) return false;
      } else {
        std::optional<int64_t> v;
        if (!Scalar(v)) return false;
        if (is_cost) out.cost = v;
      }
      if (Eat('}')) return AtEnd();
      if (!Eat(',')) return false;
    }
  }

 private:
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }
  bool AtEnd() const { return i_ == s_.size(); }

  // A string of printable ASCII without escapes.
  bool String(std::string_view& out) {
    if (!Eat('"')) return false;
    const size_t start = i_;
    for (; i_ < s_.size(); ++i_) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        out = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }

  // null, true, false, or an integer of at most 18 digits (no overflow);
  // `v` is set for an integer only.
  bool Scalar(std::optional<int64_t>& v) {
    for (std::string_view word : {"null", "true", "false"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return true;
      }
    }
    const bool negative = Eat('-');
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    const size_t digits = i_ - start;
    if (digits == 0 || digits > 18 || (digits > 1 && s_[start] == '0')) return false;
    // Accumulated only once the length is known to fit (18 digits < 2^63).
    int64_t x = 0;
    for (size_t k = start; k < i_; ++k) x = x * 10 + (s_[k] - '0');
    const char next = Peek();
    if (next == '.' || next == 'e' || next == 'E') return false;  // a float
    v = negative ? -x : x;
    return true;
  }

  bool Array() {
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    while (true) {
      if (Peek() == '"') {
        std::string_view v;
        if (!String(v)) return false;
      } else {
        std::optional<int64_t> v;
        if (!Scalar(v)) return false;
      }
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

// Built member by member: a Json initializer list builds an array per member
// first, which took 3 times as long on the hot path (~750 vs ~260 ns).
Json UseDataJson(int64_t cost, const std::optional<std::string>& origin,
                 const std::optional<std::string>& ip, const char* key, Json value) {
  Json data(Json::value_t::object);
  auto& members = data.get_ref<Json::object_t&>();
  members.emplace("cost", cost);
  members.emplace("origin", OptionalString(origin));
  members.emplace("ip", OptionalString(ip));
  members.emplace(key, std::move(value));
  return data;
}

UseData UseDataOf(const Json& data) {
  UseData out;
  if (auto it = data.find("cost"); it != data.end() && it->is_number_integer()) {
    out.cost = it->get<int64_t>();
  }
  if (auto it = data.find("code"); it != data.end() && it->is_string()) {
    out.code = it->get_ref<const std::string&>();
  }
  return out;
}

std::optional<UseData> ReadCompactUseData(std::string_view data) {
  CompactUseFields f;
  if (!CompactReader(data).Object(f)) return std::nullopt;
  UseData out;
  if (f.cost) out.cost = *f.cost;
  if (f.code) out.code = *f.code;
  return out;
}

}  // namespace tl
