/*
 * Engine calls that may run TLS or SASL work, made with the GIL released.
 *
 * The module keeps the GIL across engine calls (see PREAMBLE in build.py): most take well
 * under a microsecond. These are the exceptions: input and output pass through the TLS and
 * SASL layers, where a handshake costs public-key operations and Cyrus's GSSAPI mechanism may
 * wait on a Kerberos KDC, so other Python threads run meanwhile.
 */
#ifndef AMQX_UNLOCKED_H
#define AMQX_UNLOCKED_H

#include <proton/transport.h>

int amqx_transport_process_unlocked(pn_transport_t *transport, size_t size);
ssize_t amqx_transport_pending_unlocked(pn_transport_t *transport);
ssize_t amqx_transport_push_unlocked(pn_transport_t *transport, const char *src, size_t size);
int amqx_transport_close_tail_unlocked(pn_transport_t *transport);

#endif
