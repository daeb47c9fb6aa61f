/*
 * A software "security key" for tests: an OpenSSH FIDO middleware (SecurityKeyProvider, sk-api.h version
 * 0x000a0000, as in OpenSSH 9.x) that needs no token. ssh-keygen, ssh-sk-helper and ssh-agent load it
 * like any other middleware (ssh-keygen -w LIB, SSH_SK_PROVIDER=LIB), so the REAL OpenSSH code builds the
 * key files, the signature blobs and the SSHSIG around what this returns.
 *
 * The "key handle" is the private key itself in DER (a real token keeps it inside, wrapped): for tests
 * only. Signing does what an authenticator does (sk-usbhid.c): clientDataHash = sha256(data); it signs
 * authenticatorData = sha256(application) || flags || counter, followed by clientDataHash.
 *
 * Knobs (environment): AIRLOCK_TEST_SK_FLAGS overrides the flags byte returned (e.g. 0 = nobody touched
 * it); AIRLOCK_TEST_SK_COUNTER the signature counter (default 1). Without them: flags = user present
 * when the key asks for it, plus user verified when a PIN was given.
 *
 * Build: cc -shared -fPIC -o sk-middleware.so sk-middleware.c -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* From OpenSSH sk-api.h (V_9_2_P1). */
#define SSH_SK_USER_PRESENCE_REQD 0x01
#define SSH_SK_USER_VERIFICATION_REQD 0x04
#define SSH_SK_ECDSA 0x00
#define SSH_SK_ED25519 0x01
#define SSH_SK_ERR_GENERAL -1
#define SSH_SK_ERR_UNSUPPORTED -2
#define SSH_SK_ERR_PIN_REQUIRED -3
#define SSH_SK_VERSION_MAJOR 0x000a0000

struct sk_enroll_response {
	uint8_t flags;
	uint8_t *public_key;
	size_t public_key_len;
	uint8_t *key_handle;
	size_t key_handle_len;
	uint8_t *signature;
	size_t signature_len;
	uint8_t *attestation_cert;
	size_t attestation_cert_len;
	uint8_t *authdata;
	size_t authdata_len;
};

struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r;
	size_t sig_r_len;
	uint8_t *sig_s;
	size_t sig_s_len;
};

struct sk_resident_key;
struct sk_option;

uint32_t sk_api_version(void) { return SSH_SK_VERSION_MAJOR; }

static uint8_t *copy(const uint8_t *p, size_t n) {
	uint8_t *out = malloc(n ? n : 1);
	if (out != NULL && n) memcpy(out, p, n);
	return out;
}

/* The public key as sshsk_ecdsa_assemble / sshsk_ed25519_assemble want it: 65-byte point or 32 raw bytes. */
static int public_bytes(EVP_PKEY *pk, uint32_t alg, uint8_t **out, size_t *len) {
	if (alg == SSH_SK_ED25519) {
		*len = 32;
		*out = malloc(32);
		return *out != NULL && EVP_PKEY_get_raw_public_key(pk, *out, len) == 1 ? 0 : -1;
	}
	*len = 0;
	if (EVP_PKEY_get_octet_string_param(pk, "encoded-pub-key", NULL, 0, len) != 1) return -1;
	*out = malloc(*len);
	return *out != NULL && EVP_PKEY_get_octet_string_param(pk, "encoded-pub-key", *out, *len, len) == 1 ? 0 : -1;
}

int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len, const char *application, uint8_t flags,
    const char *pin, struct sk_option **options, struct sk_enroll_response **enroll_response) {
	(void)challenge; (void)challenge_len; (void)application; (void)pin; (void)options;
	EVP_PKEY *pk = alg == SSH_SK_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct sk_enroll_response *r = calloc(1, sizeof(*r));
	unsigned char *der = NULL;
	int derlen;
	if (pk == NULL || r == NULL || (alg != SSH_SK_ED25519 && alg != SSH_SK_ECDSA)) goto fail;
	if (public_bytes(pk, alg, &r->public_key, &r->public_key_len) != 0) goto fail;
	if ((derlen = i2d_PrivateKey(pk, &der)) <= 0) goto fail;
	r->key_handle = copy(der, (size_t)derlen);
	r->key_handle_len = (size_t)derlen;
	OPENSSL_free(der);
	r->flags = flags;
	EVP_PKEY_free(pk);
	*enroll_response = r;
	return 0;
fail:
	EVP_PKEY_free(pk);
	free(r);
	return SSH_SK_ERR_GENERAL;
}

int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len, const char *application, const uint8_t *key_handle,
    size_t key_handle_len, uint8_t flags, const char *pin, struct sk_option **options, struct sk_sign_response **sign_response) {
	(void)options;
	int has_pin = pin != NULL && *pin != '\0';
	if ((flags & SSH_SK_USER_VERIFICATION_REQD) && !has_pin) return SSH_SK_ERR_PIN_REQUIRED;
	const unsigned char *p = key_handle;
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)key_handle_len);
	struct sk_sign_response *r = calloc(1, sizeof(*r));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t signed_data[32 + 1 + 4 + 32];
	unsigned char sig[128];
	size_t siglen = sizeof(sig);
	const char *forced = getenv("AIRLOCK_TEST_SK_FLAGS");
	const char *counter = getenv("AIRLOCK_TEST_SK_COUNTER");
	if (pk == NULL || r == NULL || ctx == NULL) goto fail;
	r->flags = forced ? (uint8_t)strtoul(forced, NULL, 0)
	                  : (uint8_t)(((flags & SSH_SK_USER_PRESENCE_REQD) ? 0x01 : 0) | (has_pin ? 0x04 : 0));
	r->counter = counter ? (uint32_t)strtoul(counter, NULL, 0) : 1;
	SHA256((const unsigned char *)application, strlen(application), signed_data);
	signed_data[32] = r->flags;
	signed_data[33] = (uint8_t)(r->counter >> 24);
	signed_data[34] = (uint8_t)(r->counter >> 16);
	signed_data[35] = (uint8_t)(r->counter >> 8);
	signed_data[36] = (uint8_t)r->counter;
	SHA256(data, data_len, signed_data + 37);
	if (EVP_DigestSignInit(ctx, NULL, alg == SSH_SK_ED25519 ? NULL : EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, signed_data, sizeof(signed_data)) != 1) goto fail;
	if (alg == SSH_SK_ED25519) {
		r->sig_r = copy(sig, siglen);
		r->sig_r_len = siglen;
	} else {
		const unsigned char *q = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)siglen);
		if (es == NULL) goto fail;
		const BIGNUM *br = ECDSA_SIG_get0_r(es), *bs = ECDSA_SIG_get0_s(es);
		r->sig_r_len = (size_t)BN_num_bytes(br);
		r->sig_s_len = (size_t)BN_num_bytes(bs);
		r->sig_r = malloc(r->sig_r_len);
		r->sig_s = malloc(r->sig_s_len);
		BN_bn2bin(br, r->sig_r);
		BN_bn2bin(bs, r->sig_s);
		ECDSA_SIG_free(es);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	*sign_response = r;
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(r);
	return SSH_SK_ERR_GENERAL;
}

int sk_load_resident_keys(const char *pin, struct sk_option **options, struct sk_resident_key ***rks, size_t *nrks) {
	(void)pin; (void)options; (void)rks; (void)nrks;
	return SSH_SK_ERR_UNSUPPORTED;
}
