/*
 * Keep secrets out of protocol traces.
 *
 * With PN_TRACE_FRM=1 (or Transport.trace) the engine prints every frame, and a SASL PLAIN
 * sasl-init frame carries the password in clear. amqx_redact_log() wraps a transport's log sink
 * so that the response field of sasl-init and sasl-response frames is replaced by <redacted>;
 * every other line goes to the original sink unchanged.
 */
#ifndef AMQX_REDACT_LOG_H
#define AMQX_REDACT_LOG_H

#include <proton/transport.h>

/* Wrap the transport's log sink (idempotent; leaves a sink someone else installed alone). */
void amqx_redact_log(pn_transport_t *transport);

/* Write `line` with SASL responses redacted into `out` (size `size`); returns `out`. */
const char *amqx_redact_line(const char *line, char *out, size_t size);

#endif
