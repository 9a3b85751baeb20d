#include "services/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace tl {
namespace {

// TLS 1.2 suites: forward secrecy and authenticated encryption only.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3 suites are all AEAD; this fixes their order.
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

void TlsContextDeleter::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

Result<TlsContext> LoadTlsContext(const std::string& cert_path, const std::string& key_path) {
  TlsContext ctx(SSL_CTX_new(TLS_server_method()), TlsContextDeleter());
  if (!ctx) return MakeError(ErrorCode::kIo, "cannot create a TLS context: " + OpenSslError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  // The loop writes answers from a buffer that may move between retries.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) {
    return MakeError(ErrorCode::kIo, "cannot set the TLS ciphers: " + OpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(c, cert_path.c_str()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TLS certificate " + cert_path + " could not be loaded: " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(c, key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS key " + key_path +
                                                      " could not be loaded or does not match the "
                                                      "certificate: " +
                                                      OpenSslError());
  }
  return ctx;
}

}  // namespace tl
