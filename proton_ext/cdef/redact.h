/* Keep SASL responses (a PLAIN password) out of protocol traces: csrc/redact_log.c. */
void amqx_redact_log(pn_transport_t *transport);
const char *amqx_redact_line(const char *line, char *out, size_t size);
