/* Several engine calls in one, for the per-event and per-message paths: csrc/hot_path.c. */
pn_event_type_t amqx_next_event(pn_collector_t *collector, void **context);
pn_delivery_t *amqx_send_message(pn_link_t *link, const char *tag, size_t tag_size,
                                 const char *bytes, size_t size, ssize_t *code);
