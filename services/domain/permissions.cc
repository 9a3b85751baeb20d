#include "services/domain/permissions.h"

#include <algorithm>
#include <cctype>

#include "services/domain/secret.h"

namespace tl {
namespace {

bool IsPermissionChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '/' || c == '*' || c == '-';
}

// Where `needle` first occurs in `text` at or after `from` (npos if nowhere),
// in O(|text| + |needle|) (Knuth-Morris-Pratt): a hostile pattern cannot make
// matching quadratic. Both are at most kMaxPermissionLength bytes.
size_t FindLinear(std::string_view text, std::string_view needle, size_t from) {
  if (needle.empty()) return from;
  size_t fail[kMaxPermissionLength];  // fail[i]: longest proper border of needle[0..i]
  fail[0] = 0;
  for (size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (size_t i = from, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != needle[k]) k = fail[k - 1];
    if (text[i] == needle[k]) ++k;
    if (k == needle.size()) return i + 1 - k;
  }
  return std::string_view::npos;
}

// Glob match where '*' in `pattern` matches any run of characters. The parts
// between stars are placed leftmost in order (enough for '*'-only globs): the
// first part anchored at the start, the last at the end.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  const size_t first_star = pattern.find('*');
  if (first_star == std::string_view::npos) return pattern == text;
  const size_t last_star = pattern.rfind('*');
  const std::string_view head = pattern.substr(0, first_star);
  const std::string_view tail = pattern.substr(last_star + 1);
  if (head.size() + tail.size() > text.size() || text.substr(0, head.size()) != head ||
      text.substr(text.size() - tail.size()) != tail) {
    return false;
  }
  const std::string_view middle_text = text.substr(0, text.size() - tail.size());
  size_t at = head.size();
  for (size_t p = first_star + 1; p < last_star;) {
    const size_t next_star = pattern.find('*', p);
    const std::string_view part = pattern.substr(p, next_star - p);
    if (!part.empty()) {
      const size_t found = FindLinear(middle_text, part, at);
      if (found == std::string_view::npos) return false;
      at = found + part.size();
    }
    p = next_star + 1;
  }
  return true;
}

std::string_view ResourceOf(std::string_view p) { return p.substr(0, p.find(':')); }

// --- query parser ------------------------------------------------------------

Error QueryError(std::string message, std::string_view field) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

class QueryParser {
 public:
  QueryParser(std::string_view text, std::string_view field) : text_(text), field_(field) {}

  Result<PermissionQuery> Parse() {
    Next();
    if (tok_.empty() && !at_paren_) return QueryError("permission query is empty", field_);
    auto q = ParseOr(0);
    if (!q.ok()) return q;
    if (!AtEnd()) return Unexpected("AND, OR or the end of the query");
    return q;
  }

 private:
  // Token kinds: a word (`tok_` non-empty), '(' or ')' (`paren_`), or the end.
  void Next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    tok_start_ = pos_;
    tok_ = {};
    at_paren_ = false;
    if (pos_ >= text_.size()) return;
    const char c = text_[pos_];
    if (c == '(' || c == ')') {
      at_paren_ = true;
      paren_ = c;
      ++pos_;
      return;
    }
    size_t end = pos_;
    while (end < text_.size() && text_[end] != '(' && text_[end] != ')' &&
           !std::isspace(static_cast<unsigned char>(text_[end]))) {
      ++end;
    }
    tok_ = text_.substr(pos_, end - pos_);
    pos_ = end;
  }
  // A word of the query as an error may quote it: a client may have pasted
  // a secret into a query, so only short, plain words are repeated.
  static std::string_view Echo(std::string_view word) { return EchoOrRedact(word, ":/*"); }
  bool AtEnd() const { return !at_paren_ && tok_.empty(); }
  bool AtWord(std::string_view w) const { return !at_paren_ && tok_ == w; }
  bool AtParen(char c) const { return at_paren_ && paren_ == c; }

  Error Unexpected(std::string_view expected) const {
    std::string found = AtEnd()     ? "the end of the query"
                        : at_paren_ ? std::string("'") + paren_ + "'"
                                    : "'" + std::string(Echo(tok_)) + "'";
    return QueryError("expected " + std::string(expected) + " at offset " +
                          std::to_string(tok_start_) + ", found " + found,
                      field_);
  }

  Result<PermissionQuery> ParseOr(int depth) {
    return ParseChain(depth, "OR", PermissionQuery::Kind::kOr,
                      [this](int d) { return ParseAnd(d); });
  }
  Result<PermissionQuery> ParseAnd(int depth) {
    return ParseChain(depth, "AND", PermissionQuery::Kind::kAnd,
                      [this](int d) { return ParseTerm(d); });
  }

  // operand (op operand)*, flattened into one node when there is more than one.
  template <typename F>
  Result<PermissionQuery> ParseChain(int depth, std::string_view op, PermissionQuery::Kind kind,
                                     F operand) {
    auto first = operand(depth);
    if (!first.ok()) return first;
    if (!AtWord(op)) return first;
    PermissionQuery node;
    node.kind = kind;
    Absorb(node, std::move(first).value());
    while (AtWord(op)) {
      Next();
      auto next = operand(depth);
      if (!next.ok()) return next;
      Absorb(node, std::move(next).value());
    }
    return node;
  }

  static void Absorb(PermissionQuery& node, PermissionQuery child) {
    if (child.kind == node.kind && !child.children.empty()) {
      for (auto& c : child.children) node.children.push_back(std::move(c));
    } else {
      node.children.push_back(std::move(child));
    }
  }

  Result<PermissionQuery> ParseTerm(int depth) {
    if (AtParen('(')) {
      if (depth >= kMaxQueryDepth) {
        return QueryError(
            "permission query nests deeper than " + std::to_string(kMaxQueryDepth) + " parentheses",
            field_);
      }
      Next();
      if (AtParen(')')) return Unexpected("a permission or '('");
      auto inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner;
      if (!AtParen(')')) return Unexpected("')'");
      Next();
      return inner;
    }
    if (AtEnd() || at_paren_ || tok_ == "AND" || tok_ == "OR") {
      return Unexpected("a permission or '('");
    }
    if (!IsValidPermission(tok_)) {
      return QueryError("'" + std::string(Echo(tok_)) + "' at offset " +
                            std::to_string(tok_start_) +
                            " is not a permission (resource:action, characters A-Z a-z 0-9 _ . / "
                            "* -)",
                        field_);
    }
    if (++permissions_ > kMaxQueryPermissions) {
      return QueryError("permission query names more than " + std::to_string(kMaxQueryPermissions) +
                            " permissions",
                        field_);
    }
    PermissionQuery leaf;
    leaf.kind = PermissionQuery::Kind::kPermission;
    leaf.permission = std::string(tok_);
    Next();
    return leaf;
  }

  std::string_view text_;
  std::string_view field_;
  size_t pos_ = 0;
  size_t tok_start_ = 0;
  std::string_view tok_;
  bool at_paren_ = false;
  char paren_ = 0;
  size_t permissions_ = 0;  // named so far
};

void AppendQuery(const PermissionQuery& q, bool nested, std::string& out) {
  if (q.kind == PermissionQuery::Kind::kPermission) {
    out += q.permission;
    return;
  }
  const char* op = q.kind == PermissionQuery::Kind::kAnd ? " AND " : " OR ";
  const bool parens = nested && q.children.size() > 1;
  if (parens) out += '(';
  for (size_t i = 0; i < q.children.size(); ++i) {
    if (i) out += op;
    AppendQuery(q.children[i], true, out);
  }
  if (parens) out += ')';
}

}  // namespace

bool IsValidPermission(std::string_view p) {
  if (p.empty() || p.size() > kMaxPermissionLength) return false;
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ':') {
      if (colon != std::string_view::npos) return false;
      colon = i;
    } else if (!IsPermissionChar(p[i])) {
      return false;
    }
  }
  return colon != std::string_view::npos && colon > 0 && colon + 1 < p.size();
}

bool IsValidGrant(std::string_view p) {
  return IsValidPermission(p) &&
         static_cast<size_t>(std::count(p.begin(), p.end(), '*')) <= kMaxWildcards;
}

bool IsLedgerPermission(std::string_view p) {
  return p.find(':') != std::string_view::npos && ResourceOf(p) == kLedgerResource;
}

bool Grants(std::string_view granted, std::string_view required) {
  if (!IsValidPermission(granted) || !IsValidPermission(required)) return false;
  if (IsLedgerPermission(required)) return granted == required;
  const size_t gc = granted.find(':');
  const size_t rc = required.find(':');
  return GlobMatch(granted.substr(0, gc), required.substr(0, rc)) &&
         GlobMatch(granted.substr(gc + 1), required.substr(rc + 1));
}

bool Satisfies(const std::vector<std::string>& granted, std::string_view required) {
  for (const auto& g : granted) {
    if (Grants(g, required)) return true;
  }
  return false;
}

Result<PermissionQuery> ParsePermissionQuery(std::string_view text) {
  if (text.size() > kMaxQueryLength) {
    return QueryError(
        "permission query is longer than " + std::to_string(kMaxQueryLength) + " bytes",
        "permissions");
  }
  return QueryParser(text, "permissions").Parse();
}

Result<PermissionQuery> PermissionQueryFromJson(const Json& j, std::string_view field) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > kMaxQueryLength) {
      return QueryError(
          "permission query is longer than " + std::to_string(kMaxQueryLength) + " bytes", field);
    }
    return QueryParser(s, field).Parse();
  }
  if (!j.is_array()) {
    return QueryError("must be a list of permissions or a query string", field);
  }
  if (j.size() > kMaxQueryPermissions) {
    return QueryError(
        "at most " + std::to_string(kMaxQueryPermissions) + " permissions may be required", field);
  }
  PermissionQuery all;
  all.kind = PermissionQuery::Kind::kAnd;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& e = j[i];
    std::string at = std::string(field) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) return QueryError("must be a string", at);
    const auto& p = e.get_ref<const std::string&>();
    if (!IsValidPermission(p)) {
      return QueryError("not a permission (resource:action, characters A-Z a-z 0-9 _ . / * -)", at);
    }
    PermissionQuery leaf;
    leaf.kind = PermissionQuery::Kind::kPermission;
    leaf.permission = p;
    all.children.push_back(std::move(leaf));
  }
  return all;
}

bool Evaluate(const PermissionQuery& q, const std::vector<std::string>& granted) {
  switch (q.kind) {
    case PermissionQuery::Kind::kPermission:
      return Satisfies(granted, q.permission);
    case PermissionQuery::Kind::kAnd:
      for (const auto& c : q.children) {
        if (!Evaluate(c, granted)) return false;
      }
      return true;
    case PermissionQuery::Kind::kOr:
      for (const auto& c : q.children) {
        if (Evaluate(c, granted)) return true;
      }
      return false;
  }
  return false;
}

std::string ToString(const PermissionQuery& q) {
  std::string out;
  AppendQuery(q, false, out);
  return out;
}

std::optional<std::vector<std::string>> PresetPermissions(std::string_view name) {
  if (name == "read-only") return std::vector<std::string>{"*:read"};
  if (name == "full-access") return std::vector<std::string>{"*:*"};
  return std::nullopt;
}

}  // namespace tl
