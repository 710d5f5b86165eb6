/*
 * One C call where the per-message Python path would otherwise make several.
 *
 * Each function here only strings together public engine calls; the engine's behaviour is
 * unchanged. They exist because every call from Python into C costs a fixed overhead, and the
 * container makes these sequences for every event and every message.
 */
#ifndef AMQX_HOT_PATH_H
#define AMQX_HOT_PATH_H

#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/error.h>
#include <proton/event.h>
#include <proton/link.h>

/* The type of the collector's next event (PN_EVENT_NONE when there is none), its context object
   in *context. The event stays queued: pop it with pn_collector_pop once it is handled. */
pn_event_type_t amqx_next_event(pn_collector_t *collector, void **context);

/* Send `size` bytes as one complete new delivery tagged `tag`: pn_delivery, pn_link_send,
   pn_link_advance. Returns the delivery, or NULL with an error code in *code: PN_STATE_ERR
   when the link is closed locally (nothing is made), else the engine's. */
pn_delivery_t *amqx_send_message(pn_link_t *link, const char *tag, size_t tag_size,
                                 const char *bytes, size_t size, ssize_t *code);


#endif
