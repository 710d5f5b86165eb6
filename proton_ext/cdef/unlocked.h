/* Transport calls that may run TLS or SASL work, with the GIL released: csrc/unlocked.c. */
int amqx_transport_process_unlocked(pn_transport_t *transport, size_t size);
ssize_t amqx_transport_pending_unlocked(pn_transport_t *transport);
ssize_t amqx_transport_push_unlocked(pn_transport_t *transport, const char *src, size_t size);
int amqx_transport_close_tail_unlocked(pn_transport_t *transport);
