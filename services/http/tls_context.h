#pragma once

#include <memory>
#include <string>

#include "events/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace tl {

struct TlsContextDeleter {
  void operator()(SSL_CTX* ctx) const;
};
// Shared: connections accepted under a context keep it alive after a reload
// replaced it for new ones.
using TlsContext = std::shared_ptr<SSL_CTX>;

// A server context for `cert_path` (PEM, leaf first, then its chain) and
// `key_path`: TLS 1.2 at least, 1.3 preferred; on 1.2 only ECDHE key
// exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305); no renegotiation,
// no compression, no session tickets (nothing to rotate). The files are read
// now: a later change takes effect when this is called again (SIGHUP).
Result<TlsContext> LoadTlsContext(const std::string& cert_path, const std::string& key_path);

}  // namespace tl
