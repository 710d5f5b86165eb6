/*
 * Engine calls that may run TLS or SASL work, made with the GIL released.
 *
 * The module keeps the GIL across engine calls (see PREAMBLE in build.py): most take well
 * under a microsecond. These are the exceptions: input and output pass through the TLS and
 * SASL layers, where a handshake costs public-key operations and Cyrus's GSSAPI mechanism may
 * wait on a Kerberos KDC, so other Python threads run meanwhile. Making a TLS domain and loading
 * its certificate files is the other exception: a client domain reads the system's CA store
 * (tens of milliseconds), which an asyncio program does in an executor thread while the loop
 * runs.
 */
#ifndef AMQX_UNLOCKED_H
#define AMQX_UNLOCKED_H

#include <proton/ssl.h>
#include <proton/transport.h>

int amqx_transport_process_unlocked(pn_transport_t *transport, size_t size);
ssize_t amqx_transport_pending_unlocked(pn_transport_t *transport);
ssize_t amqx_transport_push_unlocked(pn_transport_t *transport, const char *src, size_t size);
int amqx_transport_close_tail_unlocked(pn_transport_t *transport);
pn_ssl_domain_t *amqx_ssl_domain_unlocked(pn_ssl_mode_t mode);
int amqx_ssl_domain_set_credentials_unlocked(pn_ssl_domain_t *domain, const char *cert_file,
                                             const char *key_file, const char *password);
int amqx_ssl_domain_set_trusted_ca_db_unlocked(pn_ssl_domain_t *domain, const char *ca_db);
int amqx_ssl_domain_set_peer_authentication_unlocked(pn_ssl_domain_t *domain,
                                                     pn_ssl_verify_mode_t mode,
                                                     const char *trusted_cas);

#endif
