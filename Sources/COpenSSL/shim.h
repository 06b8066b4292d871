#ifndef MASH_COPENSSL_SHIM_H
#define MASH_COPENSSL_SHIM_H

// OpenSSL 3 (Debian libssl-dev). The Sealing module uses the EVP interfaces only.
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/kdf.h>

#endif
