/* One C call where the per-message Python path would otherwise make several: hot_path.h. */
#include "hot_path.h"

pn_event_type_t amqx_next_event(pn_collector_t *collector, void **context)
{
    pn_event_t *event = pn_collector_peek(collector);
    if (event == NULL) {
        *context = NULL;
        return PN_EVENT_NONE;
    }
    *context = pn_event_context(event);
    return pn_event_type(event);
}

pn_delivery_t *amqx_send_message(pn_link_t *link, const char *tag, size_t tag_size,
                                 const char *bytes, size_t size, ssize_t *code)
{
    if (pn_link_state(link) & PN_LOCAL_CLOSED) {
        *code = PN_STATE_ERR;
        return NULL;
    }
    pn_delivery_t *delivery = pn_delivery(link, pn_dtag(tag, tag_size));
    if (delivery == NULL) {
        *code = PN_ERR;
        return NULL;
    }
    *code = pn_link_send(link, bytes, size);
    if (*code < 0)
        return delivery;
    pn_link_advance(link);
    return delivery;
}

