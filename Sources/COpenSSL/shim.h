#ifndef MASH_COPENSSL_SHIM_H
#define MASH_COPENSSL_SHIM_H

// OpenSSL 3 (Debian libssl-dev). The Sealing module uses the EVP, KDF and PEM interfaces only; the few macros
// it needs are wrapped here as functions Swift can call.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static inline long mash_bio_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

static inline void mash_openssl_free(void *pointer) { OPENSSL_free(pointer); }

/// AES key wrap (RFC 3394) is refused by EVP unless the context explicitly allows it.
static inline void mash_allow_key_wrap(EVP_CIPHER_CTX *ctx) {
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
}

static const int mash_ctrl_gcm_get_tag = EVP_CTRL_GCM_GET_TAG;
static const int mash_ctrl_gcm_set_tag = EVP_CTRL_GCM_SET_TAG;
static const int mash_ctrl_gcm_set_ivlen = EVP_CTRL_GCM_SET_IVLEN;
static const int mash_selection_public_key = EVP_PKEY_PUBLIC_KEY;
static const int mash_md_ctx_flag_finalise = EVP_MD_CTX_FLAG_FINALISE;

#endif
