#include "services/http/http1_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tl {
namespace {

// Outcomes other than an error status, for Answer().
constexpr int kComplete = -1;
constexpr int kNeedMore = -2;

// One parse of its own copy of the input, held in place: the views point
// into `buf` and `req.body` may point into `req.decoded_body`, which a move
// would leave behind.
struct Parsed {
  explicit Parsed(std::string_view input, const Http1Limits& limits = {}) : buf(input) {
    status = ParseHttp1Request(buf, limits, &req, &err);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  const std::string buf;
  Http1Status status;
  Http1Request req;
  Http1Error err;
};

// kComplete, kNeedMore or the error's HTTP status.
int Answer(std::string_view buf, const Http1Limits& limits = {}) {
  Parsed p(buf, limits);
  if (p.status == Http1Status::kComplete) return kComplete;
  if (p.status == Http1Status::kNeedMore) return kNeedMore;
  EXPECT_FALSE(p.err.detail.empty());
  return p.err.status;
}

// A minimal valid HTTP/1.1 request with extra header lines (each ending in CRLF).
std::string Req(std::string_view extra_headers, std::string_view body = "") {
  return "POST /v1/verify HTTP/1.1\r\nHost: a\r\n" + std::string(extra_headers) + "\r\n" +
         std::string(body);
}

constexpr std::string_view kVerify =
    "POST /v1/verify?x=1 HTTP/1.1\r\n"
    "Host: ledger.internal:8080\r\n"
    "Content-Type: application/json\r\n"
    "Authorization:  Bearer tl_secret \t\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "{\"token\":\"t\"}";

constexpr std::string_view kChunked =
    "POST /v1/verify HTTP/1.1\r\n"
    "Host: a\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;ext=1\r\n"
    "{\"tok\r\n"
    "A\r\n"
    "en\":\"abc\"}\r\n"
    "0\r\n"
    "X-Trailer: ignored\r\n"
    "\r\n";

// --- request line ----------------------------------------------------------------

TEST(Http1ParserTest, ParsesAVerifyRequest) {
  Parsed p(kVerify);
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  EXPECT_EQ(p.req.method, "POST");
  EXPECT_EQ(p.req.target, "/v1/verify?x=1");
  EXPECT_EQ(p.req.path, "/v1/verify");
  EXPECT_EQ(p.req.minor_version, 1);
  ASSERT_EQ(p.req.headers.size(), 4u);
  EXPECT_EQ(p.req.headers[0].name, "Host");
  EXPECT_EQ(p.req.headers[0].value, "ledger.internal:8080");
  EXPECT_EQ(p.req.headers[2].name, "Authorization");
  EXPECT_EQ(p.req.headers[2].value, "Bearer tl_secret");  // OWS trimmed, inner SP kept
  EXPECT_EQ(p.req.Header("content-type"), "application/json");
  EXPECT_EQ(p.req.Header("CONTENT-LENGTH"), "13");
  EXPECT_EQ(p.req.Header("X-Missing"), "");
  EXPECT_EQ(p.req.body, "{\"token\":\"t\"}");
  EXPECT_FALSE(p.req.chunked);
  EXPECT_TRUE(p.req.keep_alive);
  EXPECT_EQ(p.req.consumed, kVerify.size());
}

TEST(Http1ParserTest, TargetWithoutQueryIsItsOwnPath) {
  Parsed p("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.method, "GET");
  EXPECT_EQ(p.req.path, "/healthz");
  EXPECT_EQ(p.req.target, "/healthz");
  Parsed q("GET /a%2Fb?q=1&r=%20;x=@:,!$'()*+~ HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(q.status, Http1Status::kComplete);
  EXPECT_EQ(q.req.path, "/a%2Fb");
  Parsed r("GET /?x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.status, Http1Status::kComplete);
  EXPECT_EQ(r.req.path, "/");
}

TEST(Http1ParserTest, AcceptsBareLfAndSkipsLeadingEmptyLines) {
  const std::string_view lf =
      "\r\n\n\r\nPOST /v1/verify HTTP/1.1\nHost: a\nContent-Length: 2\n\nhi";
  Parsed p(lf);
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  EXPECT_EQ(p.req.method, "POST");
  EXPECT_EQ(p.req.Header("host"), "a");
  EXPECT_EQ(p.req.body, "hi");
  EXPECT_EQ(p.req.consumed, lf.size());
  // Only empty lines so far: wait for the request line.
  EXPECT_EQ(Answer("\r\n\r\n"), kNeedMore);
  EXPECT_EQ(Answer("\r\n\r"), kNeedMore);
  EXPECT_EQ(Answer("\r\nX"), kNeedMore);
  // A CR that does not start a CRLF is no empty line.
  EXPECT_EQ(Answer("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(Http1ParserTest, MethodMustBeAToken) {
  EXPECT_EQ(Answer("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n"), kComplete);
  EXPECT_EQ(Answer("P(ST / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer(" / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("PO\tST / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET\r\nHost: a\r\n\r\n"), 400);
}

TEST(Http1ParserTest, TargetMustBeOriginForm) {
  EXPECT_EQ(Answer("GET http://a/v1/verify HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /%2 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer(std::string("GET /") + '\0' + " HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(Http1ParserTest, Version) {
  Parsed p("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.minor_version, 0);
  EXPECT_EQ(Answer("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(Answer("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(Answer("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(Answer("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET /\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / \r\nHost: a\r\n\r\n"), 400);
}

TEST(Http1ParserTest, PlainGarbageFailsBeforeTheHeadIsComplete) {
  // A TLS ClientHello on the plaintext port, an absolute-form target.
  EXPECT_EQ(Answer(std::string_view("\x16\x03\x01\x02\x00\x01", 6)), 400);
  EXPECT_EQ(Answer("GET http://"), 400);
  EXPECT_EQ(Answer("GET /v1/"), kNeedMore);
  EXPECT_EQ(Answer("GET"), kNeedMore);
}

// --- header fields ------------------------------------------------------------------

TEST(Http1ParserTest, HeaderValuesAreTrimmedAndMayBeEmptyOrObsText) {
  const std::string r = Req("X-Empty:\r\nX-Ws: \t \r\nX-Tab:\ta\tb\t\r\nX-Obs: caf\xc3\xa9\r\n");
  Parsed p(r);
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  ASSERT_EQ(p.req.headers.size(), 5u);
  EXPECT_EQ(p.req.headers[1].name, "X-Empty");
  EXPECT_EQ(p.req.headers[1].value, "");
  EXPECT_EQ(p.req.headers[2].value, "");
  EXPECT_EQ(p.req.Header("x-tab"), "a\tb");
  EXPECT_EQ(p.req.Header("X-Obs"), "caf\xc3\xa9");
}

TEST(Http1ParserTest, HeaderReturnsTheFirstOfRepeatedFields) {
  const std::string r = Req("Accept: one\r\naccept: two\r\n");
  Parsed p(r);
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.Header("Accept"), "one");
  EXPECT_EQ(p.req.headers.size(), 3u);
}

TEST(Http1ParserTest, MalformedFieldLinesAreRefused) {
  EXPECT_EQ(Answer(Req("X-A : b\r\n")), 400);  // whitespace before the colon (§5.1)
  EXPECT_EQ(Answer(Req("X-A\t: b\r\n")), 400);
  EXPECT_EQ(Answer(Req(" X-A: b\r\n")), 400);  // obs-fold
  EXPECT_EQ(Answer(Req("X-A: b\r\n c\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A: b\r\n\tc\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A b\r\n")), 400);                      // no colon
  EXPECT_EQ(Answer(Req(": b\r\n")), 400);                        // empty name
  EXPECT_EQ(Answer(Req("X(A): b\r\n")), 400);                    // name no token
  EXPECT_EQ(Answer(Req("X-A: b\r\r\n")), 400);                   // CR CR LF
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);  // fold after the request line
}

TEST(Http1ParserTest, ControlCharactersInValuesAreRefused) {
  EXPECT_EQ(Answer(Req(std::string("X-A: b\0c\r\n", 10))), 400);
  EXPECT_EQ(Answer(Req("X-A: b\rc\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A: b\x01\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A: b\x7f\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A: b\x1b[0m\r\n")), 400);
  EXPECT_EQ(Answer(Req("X-A: b\tc\r\n")), kComplete);
}

TEST(Http1ParserTest, ErrorDetailsNeverQuoteTheRequest) {
  const std::string secret = "tl_SUPERSECRETVALUE";
  for (const std::string& r :
       {Req("Authorization: Bearer " + secret + "\x01\r\n"),
        Req("Authorization: Bearer " + secret + "\r\n Bearer x\r\n"),
        Req("Content-Length: " + secret + "\r\n"), Req("Transfer-Encoding: " + secret + "\r\n")}) {
    Parsed p(r);
    ASSERT_EQ(p.status, Http1Status::kError);
    EXPECT_EQ(p.err.detail.find("SUPERSECRET"), std::string::npos) << p.err.detail;
    EXPECT_EQ(p.err.detail.find("Bearer"), std::string::npos) << p.err.detail;
    EXPECT_LT(p.err.detail.size(), 60u);
  }
}

// --- limits ------------------------------------------------------------------------

TEST(Http1ParserTest, HeadLimitCountsUpToTheBlankLine) {
  Http1Limits limits;
  limits.max_head_bytes = 100;
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  head += std::string(100 - head.size() - 4, 'p') + "\r\n\r\n";
  ASSERT_EQ(head.size(), 100u);
  EXPECT_EQ(Answer(head, limits), kComplete);
  const std::string longer = head.substr(0, 40) + "p" + head.substr(40);
  EXPECT_EQ(Answer(longer, limits), 431);
  // Incomplete, already past the limit: refused without waiting for the rest.
  EXPECT_EQ(Answer(longer.substr(0, 99), limits), kNeedMore);
  EXPECT_EQ(Answer(longer.substr(0, 100), limits), 431);
  EXPECT_EQ(Answer(longer.substr(0, 101), limits), 431);
  EXPECT_EQ(Answer(std::string(200, 'G'), limits), 431);
  // Empty lines before the request line count.
  EXPECT_EQ(Answer("\r\n" + head, limits), 431);
  // The default is 8 KiB.
  EXPECT_EQ(Answer(Req("X-Big: " + std::string(8 * 1024, 'b') + "\r\n")), 431);
  EXPECT_EQ(Answer(Req("X-Big: " + std::string(7 * 1024, 'b') + "\r\n")), kComplete);
}

TEST(Http1ParserTest, HeaderCountLimit) {
  Http1Limits limits;
  limits.max_headers = 3;
  EXPECT_EQ(Answer(Req("A: 1\r\nB: 2\r\n"), limits), kComplete);  // Host + 2
  EXPECT_EQ(Answer(Req("A: 1\r\nB: 2\r\nC: 3\r\n"), limits), 431);
  // Refused as soon as the line over the limit is there.
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", limits), 431);
  std::string many;
  for (int i = 0; i < 64; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Answer(Req(many)), 431);  // Host + 64 > the default 64
  EXPECT_EQ(Answer(Req(many.substr(many.find('\n') + 1))), kComplete);
}

// --- Host ---------------------------------------------------------------------------

TEST(Http1ParserTest, Http11NeedsExactlyOneHost) {
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a.example:80\r\n\r\n"), kComplete);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), kComplete);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nhost:\r\n\r\n"), kComplete);  // empty is allowed (§3.2)
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.0\r\n\r\n"), kComplete);
  EXPECT_EQ(Answer("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

// --- Content-Length ------------------------------------------------------------------

TEST(Http1ParserTest, ContentLengthFramesTheBody) {
  const std::string r = Req("Content-Length: 5\r\n", "hello") + "GET";
  Parsed p(r);
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.body, "hello");
  EXPECT_EQ(p.req.consumed, r.size() - 3);
  EXPECT_EQ(p.req.body.data(), p.buf.data() + r.size() - 8);  // a view, not a copy
  EXPECT_TRUE(p.req.decoded_body.empty());
  EXPECT_EQ(Answer(Req("Content-Length: 5\r\n", "hell")), kNeedMore);
  Parsed zero(Req("Content-Length: 0\r\n"));
  EXPECT_EQ(zero.status, Http1Status::kComplete);
}

TEST(Http1ParserTest, RepeatedContentLengthMustAgree) {
  EXPECT_EQ(Answer(Req("Content-Length: 2\r\nContent-Length: 2\r\n", "ab")), kComplete);
  EXPECT_EQ(Answer(Req("Content-Length: 2, 2\r\n", "ab")), kComplete);
  EXPECT_EQ(Answer(Req("Content-Length: 002\r\nContent-Length: 2\r\n", "ab")), kComplete);
  EXPECT_EQ(Answer(Req("Content-Length: 2\r\nContent-Length: 3\r\n", "abc")), 400);
  EXPECT_EQ(Answer(Req("Content-Length: 2, 3\r\n", "abc")), 400);
  EXPECT_EQ(Answer(Req("Content-Length: 2,\r\n", "ab")), 400);
}

TEST(Http1ParserTest, ContentLengthIsDigitsOnly) {
  for (const char* v : {"", "+5", "-1", "5a", "0x5", "5 5", "5.0", " , "}) {
    EXPECT_EQ(Answer(Req("Content-Length: " + std::string(v) + "\r\n", "hello")), 400) << v;
  }
  Parsed p(Req("Content-Length: 00005\r\n", "hello"));
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.body, "hello");
}

TEST(Http1ParserTest, ContentLengthOverTheLimitIsRefusedFromTheHead) {
  Http1Limits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(Answer(Req("Content-Length: 10\r\n", "0123456789"), limits), kComplete);
  EXPECT_EQ(Answer(Req("Content-Length: 11\r\n"), limits), 413);  // no body sent yet
  EXPECT_EQ(Answer(Req("Content-Length: 65537\r\n")), 413);
  EXPECT_EQ(Answer(Req("Content-Length: 18446744073709551616\r\n")), 413);  // 2^64
  EXPECT_EQ(Answer(Req("Content-Length: 99999999999999999999999999999\r\n")), 413);
  EXPECT_EQ(Answer(Req("Content-Length: 0000000000000000000000000000001\r\n", "x")), kComplete);
}

// --- Transfer-Encoding ---------------------------------------------------------------

TEST(Http1ParserTest, DecodesAChunkedBody) {
  const std::string r = std::string(kChunked) + "GET / HTTP/1.1\r\n";
  Parsed p(r);
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  EXPECT_TRUE(p.req.chunked);
  EXPECT_EQ(p.req.body, "{\"token\":\"abc\"}");
  EXPECT_EQ(p.req.decoded_body, "{\"token\":\"abc\"}");
  EXPECT_EQ(p.req.body.data(), p.req.decoded_body.data());
  EXPECT_EQ(p.req.consumed, kChunked.size());
  EXPECT_EQ(p.req.Header("x-trailer"), "");  // trailers are not headers
}

TEST(Http1ParserTest, ChunkedIsCaseInsensitiveAndMayBeEmpty) {
  Parsed p(Req("Transfer-Encoding: ChUnKeD\r\n", "0\r\n\r\n"));
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  EXPECT_EQ(p.req.body, "");
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked,\r\n", "0\r\n\r\n")), kComplete);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked\r\n", "000\r\n\r\n")), kComplete);
}

TEST(Http1ParserTest, OnlyChunkedIsSupported) {
  EXPECT_EQ(Answer(Req("Transfer-Encoding: gzip\r\n", "0\r\n\r\n")), 501);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n")), 501);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: identity\r\n")), 501);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n")), 501);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")), 501);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n")), 400);
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")), 400);
  EXPECT_EQ(Answer(Req("Transfer-Encoding:\r\n")), 400);
}

TEST(Http1ParserTest, TransferEncodingWithContentLengthIsRefused) {
  EXPECT_EQ(Answer(Req("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n")), 400);
  EXPECT_EQ(Answer(Req("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n")), 400);
  EXPECT_EQ(Answer(Req("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", "hello")), 400);
}

TEST(Http1ParserTest, TransferEncodingInHttp10IsRefused) {
  EXPECT_EQ(Answer("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(Answer("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nab"), kComplete);
}

TEST(Http1ParserTest, ChunkSizesAreHexWithOptionalExtensions) {
  const std::string body =
      "a\r\n0123456789\r\n"
      "1F ; name ; n2 = v2;q=\"quoted \\\" ;\\\\ \"\r\n" +
      std::string(31, 'x') + "\r\n0;last\r\n\r\n";
  Parsed p(Req("Transfer-Encoding: chunked\r\n", body));
  ASSERT_EQ(p.status, Http1Status::kComplete) << p.err.detail;
  EXPECT_EQ(p.req.body, "0123456789" + std::string(31, 'x'));
}

TEST(Http1ParserTest, MalformedChunkedFramingIsRefused) {
  const std::string te = "Transfer-Encoding: chunked\r\n";
  for (const char* body : {
           "g\r\nabc\r\n0\r\n\r\n",                // no hex digit
           "\r\n0\r\n\r\n",                        // empty size
           "\r\n\r\n",                             // empty size, read as the last chunk
           ";a\r\n\r\n",                           // extension without a size
           "-1\r\na\r\n0\r\n\r\n",                 // sign
           "3\r\nabcd\r\n0\r\n\r\n",               // data longer than its size
           "3\r\nab\r\n0\r\n\r\n",                 // shorter
           "3\nabc\r\n0\r\n\r\n",                  // bare LF after the size
           "3\r\nabc\n0\r\n\r\n",                  // bare LF after the data
           "3 \r\nabc\r\n0\r\n\r\n",               // trailing whitespace
           "3;\r\nabc\r\n0\r\n\r\n",               // extension without a name
           "3;a=\r\nabc\r\n0\r\n\r\n",             // without a value
           "3;a=\"x\r\nabc\r\n0\r\n\r\n",          // unterminated quoted string
           "3;a\rb\r\nabc\r\n0\r\n\r\n",           // bare CR
           "3\r\nabc\r\n0\r\n\n",                  // bare LF ending the trailer section
           "3\r\nabc\r\n0\r\n folded\r\n\r\n",     // obs-fold trailer
           "3\r\nabc\r\n0\r\nX-T: a\x01\r\n\r\n",  // control char in a trailer
           "3\r\nabc\r\n0\r\nX-T a\r\n\r\n",       // trailer without a colon
       }) {
    EXPECT_EQ(Answer(Req(te, body)), 400) << body;
  }
  const std::string ok = "3\r\nabc\r\n0\r\nX-T: a\r\nX-U:\r\n\r\n";
  EXPECT_EQ(Answer(Req(te, ok)), kComplete);
  // A wrong byte where the CRLF after the data belongs fails without waiting.
  EXPECT_EQ(Answer(Req(te, "3\r\nabcd")), 400);
}

TEST(Http1ParserTest, ChunkedBodyLimits) {
  Http1Limits limits;
  limits.max_body_bytes = 10;
  const std::string te = "Transfer-Encoding: chunked\r\n";
  EXPECT_EQ(Answer(Req(te, "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"), limits), kComplete);
  EXPECT_EQ(Answer(Req(te, "5\r\n01234\r\n6\r\n"), limits), 413);  // before the data
  EXPECT_EQ(Answer(Req(te, "b\r\n"), limits), 413);
  EXPECT_EQ(Answer(Req(te, "00000000000000000000000000000000005\r\n")), kNeedMore);
  EXPECT_EQ(Answer(Req(te, "ffffffffffffffffffffffffffffffff\r\n")), 413);  // no overflow
  EXPECT_EQ(Answer(Req(te, "10001\r\n")), 413);  // 65537 > the default 64 KiB
}

TEST(Http1ParserTest, ChunkedFramingIsBoundedByTheHeadLimit) {
  // Many tiny chunks, endless extensions or trailers: each under the body
  // limit, but together more than max_head_bytes of framing.
  Http1Limits limits;
  limits.max_head_bytes = 200;
  limits.max_body_bytes = 64;
  const std::string te = "Transfer-Encoding: chunked\r\n";
  // 1;aaaaaaaaaa CRLF x CRLF: 16 bytes of framing a chunk; with the last
  // chunk's 5, 12 chunks come to 197 bytes, 13 to 213.
  std::string tiny;
  for (int i = 0; i < 13; ++i) tiny += "1;aaaaaaaaaa\r\nx\r\n";
  const std::string too_many = Req(te, tiny + "0\r\n\r\n");
  const std::string endless_ext = Req(te, "1;" + std::string(300, 'a'));
  const std::string long_trailer = Req(te, "5\r\n01234\r\n0\r\nX-T: " + std::string(300, 't'));
  for (const std::string& r : {too_many, endless_ext, long_trailer}) {
    Parsed p(r, limits);
    ASSERT_EQ(p.status, Http1Status::kError);
    EXPECT_EQ(p.err.status, 413);
    EXPECT_EQ(p.err.detail, "chunked framing too large");
  }
  tiny.resize(12 * 17);
  EXPECT_EQ(Answer(Req(te, tiny + "0\r\n\r\n"), limits), kComplete);
  EXPECT_EQ(Answer(Req(te, "5\r\n01234\r\n0\r\nX-T: t\r\n\r\n"), limits), kComplete);
}

TEST(Http1ParserTest, SizesNearSizeMaxDoNotOverflow) {
  Http1Limits huge;
  huge.max_head_bytes = SIZE_MAX;
  huge.max_body_bytes = SIZE_MAX;
  static_assert(SIZE_MAX == 18446744073709551615u);
  EXPECT_EQ(Answer(Req("Content-Length: 18446744073709551615\r\n", "abc"), huge), kNeedMore);
  EXPECT_EQ(Answer(Req("Content-Length: 18446744073709551616\r\n", "abc"), huge), 413);
  const std::string te = "Transfer-Encoding: chunked\r\n";
  EXPECT_EQ(Answer(Req(te, "ffffffffffffffff\r\nabc"), huge), kNeedMore);
  EXPECT_EQ(Answer(Req(te, "fffffffffffffffe\r\nabc"), huge), kNeedMore);
  EXPECT_EQ(Answer(Req(te, "10000000000000000\r\nabc"), huge), 413);
  EXPECT_EQ(Answer(Req(te, "3\r\nabc\r\nffffffffffffffff\r\n"), huge), 413);  // the sum
  EXPECT_EQ(Answer(Req(te, "3\r\nabc\r\n0\r\n\r\n"), huge), kComplete);
}

// --- no framing header -----------------------------------------------------------------

TEST(Http1ParserTest, WithoutFramingHeadersTheBodyIsEmpty) {
  const std::string r = "POST /v1/verify HTTP/1.1\r\nHost: a\r\n\r\n{\"token\":1}";
  Parsed p(r);
  ASSERT_EQ(p.status, Http1Status::kComplete);
  EXPECT_EQ(p.req.body, "");
  EXPECT_EQ(p.req.consumed, r.find('{'));
  Parsed g("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(g.status, Http1Status::kComplete);
  EXPECT_EQ(g.req.body, "");
}

// --- Connection -----------------------------------------------------------------------

TEST(Http1ParserTest, KeepAlive) {
  struct {
    const char* request;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: TE ,, KEEP-ALIVE\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    Parsed p(c.request);
    ASSERT_EQ(p.status, Http1Status::kComplete) << c.request;
    EXPECT_EQ(p.req.keep_alive, c.keep_alive) << c.request;
  }
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep alive\r\n\r\n"), 400);
  EXPECT_EQ(Answer("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n"), 400);
}

// --- incremental input and pipelining ----------------------------------------------------

void ExpectSplitEverywhere(std::string_view whole) {
  Parsed expected(whole);
  ASSERT_EQ(expected.status, Http1Status::kComplete) << expected.err.detail;
  ASSERT_EQ(expected.req.consumed, whole.size());
  // What an epoll server sees: the same buffer, growing by one read at a time.
  std::string buf;
  Http1Request req;
  Http1Error err;
  for (size_t i = 0; i < whole.size(); ++i) {
    ASSERT_EQ(ParseHttp1Request(buf, {}, &req, &err), Http1Status::kNeedMore)
        << "offset " << i << ": " << err.detail;
    buf.push_back(whole[i]);
  }
  ASSERT_EQ(ParseHttp1Request(buf, {}, &req, &err), Http1Status::kComplete) << err.detail;
  EXPECT_EQ(req.method, expected.req.method);
  EXPECT_EQ(req.target, expected.req.target);
  EXPECT_EQ(req.path, expected.req.path);
  EXPECT_EQ(req.minor_version, expected.req.minor_version);
  ASSERT_EQ(req.headers.size(), expected.req.headers.size());
  for (size_t i = 0; i < req.headers.size(); ++i) {
    EXPECT_EQ(req.headers[i].name, expected.req.headers[i].name);
    EXPECT_EQ(req.headers[i].value, expected.req.headers[i].value);
  }
  EXPECT_EQ(req.body, expected.req.body);
  EXPECT_EQ(req.keep_alive, expected.req.keep_alive);
  EXPECT_EQ(req.consumed, whole.size());
}

TEST(Http1ParserTest, ContentLengthRequestSplitAtEveryByte) {
  ExpectSplitEverywhere(kVerify);
  ExpectSplitEverywhere("\r\nPOST /v1/verify HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc");
}

TEST(Http1ParserTest, ChunkedRequestSplitAtEveryByte) {
  ExpectSplitEverywhere(kChunked);
  Parsed p(kChunked);
  EXPECT_EQ(p.req.body, "{\"token\":\"abc\"}");
}

TEST(Http1ParserTest, PipelinedRequests) {
  const std::string second = "GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
  const std::string buf = std::string(kVerify) + std::string(kChunked) + second;
  Parsed first(buf);
  ASSERT_EQ(first.status, Http1Status::kComplete);
  EXPECT_EQ(first.req.body, "{\"token\":\"t\"}");
  ASSERT_EQ(first.req.consumed, kVerify.size());
  const std::string_view rest = std::string_view(buf).substr(first.req.consumed);
  Parsed chunked(rest);
  ASSERT_EQ(chunked.status, Http1Status::kComplete);
  EXPECT_EQ(chunked.req.body, "{\"token\":\"abc\"}");
  ASSERT_EQ(chunked.req.consumed, kChunked.size());
  Parsed last(rest.substr(chunked.req.consumed));
  ASSERT_EQ(last.status, Http1Status::kComplete);
  EXPECT_EQ(last.req.path, "/healthz");
  EXPECT_EQ(last.req.Header("host"), "b");
  EXPECT_FALSE(last.req.keep_alive);
  EXPECT_EQ(last.req.consumed, second.size());
}

TEST(Http1ParserTest, ReusesTheRequestWithoutStaleFields) {
  Http1Request req;
  Http1Error err;
  ASSERT_EQ(ParseHttp1Request(kChunked, {}, &req, &err), Http1Status::kComplete);
  const std::string_view plain = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(ParseHttp1Request(plain, {}, &req, &err), Http1Status::kComplete);
  EXPECT_TRUE(req.headers.empty());
  EXPECT_FALSE(req.chunked);
  EXPECT_TRUE(req.decoded_body.empty());
  EXPECT_EQ(req.body, "");
  EXPECT_FALSE(req.keep_alive);
  EXPECT_EQ(req.minor_version, 0);
  EXPECT_EQ(req.consumed, plain.size());
}

// --- fuzz ----------------------------------------------------------------------------

bool Inside(std::string_view view, std::string_view outer) {
  return view.empty() ||
         (view.data() >= outer.data() && view.data() + view.size() <= outer.data() + outer.size());
}

TEST(Http1ParserTest, RandomAndMutatedInputsNeverBreakTheContract) {
  const std::vector<std::string> seeds = {
      std::string(kVerify),
      std::string(kChunked),
      std::string(kVerify) + std::string(kChunked),
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "\nPOST /v1/verify HTTP/1.1\nHost: a\nContent-Length: 3\n\nabc",
      Req("Transfer-Encoding: chunked\r\n", "1;a=\"b\\\"\"\r\nx\r\n0\r\nT: v\r\n\r\n"),
      Req("Content-Length: 2, 2\r\nConnection: close\r\n", "ab"),
  };
  static constexpr char kAlphabet[] =
      " \t\r\n:;,=\"\\/?%0123456789abcdefABCDEFHTP.\x00\x01\x7f\x80\xff";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  std::mt19937 rng(20240611);
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  size_t completes = 0, chunked_completes = 0, errors = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    std::string buf;
    if (iter % 16 == 0) {
      buf.resize(pick(200));
      for (char& c : buf)
        c = (iter % 32 == 0) ? static_cast<char>(pick(256)) : alphabet[pick(alphabet.size())];
    } else {
      buf = seeds[pick(seeds.size())];
      const size_t mutations = 1 + pick(4);
      for (size_t m = 0; m < mutations && !buf.empty(); ++m) {
        const size_t at = pick(buf.size());
        switch (pick(6)) {
          case 0:
            buf[at] = alphabet[pick(alphabet.size())];
            break;
          case 1:
            buf[at] = static_cast<char>(pick(256));
            break;
          case 2:
            buf.insert(buf.begin() + at, alphabet[pick(alphabet.size())]);
            break;
          case 3:
            buf.erase(at, 1 + pick(3));
            break;
          case 4:
            buf.insert(at, buf.substr(pick(buf.size()), pick(16)));
            break;
          case 5:
            buf.resize(at);
            break;
        }
      }
    }
    Http1Limits limits;
    if (iter % 4 == 0) {
      limits.max_head_bytes = pick(200);
      limits.max_body_bytes = pick(40);
      limits.max_headers = pick(6);
    }
    Http1Request req;
    Http1Error err;
    const Http1Status status = ParseHttp1Request(buf, limits, &req, &err);
    if (status == Http1Status::kError) {
      ++errors;
      ASSERT_TRUE(err.status == 400 || err.status == 413 || err.status == 431 ||
                  err.status == 501 || err.status == 505)
          << err.status;
      ASSERT_FALSE(err.detail.empty());
      continue;
    }
    if (status != Http1Status::kComplete) continue;
    ++completes;
    if (req.chunked) ++chunked_completes;
    ASSERT_LE(req.consumed, buf.size());
    ASSERT_GT(req.consumed, 0u);
    const std::string_view whole(buf);
    for (std::string_view v : {req.method, req.target, req.path}) ASSERT_TRUE(Inside(v, whole));
    ASSERT_LE(req.headers.size(), limits.max_headers);
    for (const Http1Header& h : req.headers) {
      ASSERT_TRUE(Inside(h.name, whole));
      ASSERT_TRUE(Inside(h.value, whole));
    }
    ASSERT_TRUE(Inside(req.body, whole) || Inside(req.body, req.decoded_body));
    ASSERT_LE(req.body.size(), limits.max_body_bytes);
    // The request ends where it says: its own bytes parse the same, and one
    // byte fewer is not yet a request.
    Http1Request again;
    ASSERT_EQ(ParseHttp1Request(whole.substr(0, req.consumed), limits, &again, &err),
              Http1Status::kComplete);
    ASSERT_EQ(again.consumed, req.consumed);
    ASSERT_EQ(again.body, req.body);
    ASSERT_EQ(ParseHttp1Request(whole.substr(0, req.consumed - 1), limits, &again, &err),
              Http1Status::kNeedMore);
  }
  // The mutations must reach every outcome, or the loop tests little.
  EXPECT_GT(completes, 10000u);
  EXPECT_GT(errors, 10000u);
  EXPECT_GT(chunked_completes, 1000u);
}

}  // namespace
}  // namespace tl
