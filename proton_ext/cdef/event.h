/* The collector and its events: what the engine reports after each input or local change. */
typedef enum {
  PN_EVENT_NONE,
  PN_REACTOR_INIT,
  PN_REACTOR_QUIESCED,
  PN_REACTOR_FINAL,
  PN_TIMER_TASK,
  PN_CONNECTION_INIT,
  PN_CONNECTION_BOUND,
  PN_CONNECTION_UNBOUND,
  PN_CONNECTION_LOCAL_OPEN,
  PN_CONNECTION_REMOTE_OPEN,
  PN_CONNECTION_LOCAL_CLOSE,
  PN_CONNECTION_REMOTE_CLOSE,
  PN_CONNECTION_FINAL,
  PN_SESSION_INIT,
  PN_SESSION_LOCAL_OPEN,
  PN_SESSION_REMOTE_OPEN,
  PN_SESSION_LOCAL_CLOSE,
  PN_SESSION_REMOTE_CLOSE,
  PN_SESSION_FINAL,
  PN_LINK_INIT,
  PN_LINK_LOCAL_OPEN,
  PN_LINK_REMOTE_OPEN,
  PN_LINK_LOCAL_CLOSE,
  PN_LINK_REMOTE_CLOSE,
  PN_LINK_LOCAL_DETACH,
  PN_LINK_REMOTE_DETACH,
  PN_LINK_FLOW,
  PN_LINK_FINAL,
  PN_DELIVERY,
  PN_TRANSPORT,
  PN_TRANSPORT_AUTHENTICATED,
  PN_TRANSPORT_ERROR,
  PN_TRANSPORT_HEAD_CLOSED,
  PN_TRANSPORT_TAIL_CLOSED,
  PN_TRANSPORT_CLOSED,
  ...
} pn_event_type_t;

const char *pn_event_type_name(pn_event_type_t type);
pn_collector_t *pn_collector(void);
void pn_collector_free(pn_collector_t *collector);
void pn_collector_release(pn_collector_t *collector);
void pn_collector_drain(pn_collector_t *collector);
pn_event_t *pn_collector_put(pn_collector_t *collector, const pn_class_t *clazz, void *context, pn_event_type_t type);
pn_event_t *pn_collector_peek(pn_collector_t *collector);
bool pn_collector_pop(pn_collector_t *collector);
pn_event_t *pn_collector_next(pn_collector_t *collector);
pn_event_t *pn_collector_prev(pn_collector_t *collector);
bool pn_collector_more(pn_collector_t *collector);
pn_event_type_t pn_event_type(pn_event_t *event);
const pn_class_t *pn_event_class(pn_event_t *event);
void *pn_event_context(pn_event_t *event);
pn_connection_t *pn_event_connection(pn_event_t *event);
pn_session_t *pn_event_session(pn_event_t *event);
pn_link_t *pn_event_link(pn_event_t *event);
pn_delivery_t *pn_event_delivery(pn_event_t *event);
pn_transport_t *pn_event_transport(pn_event_t *event);
pn_record_t *pn_event_attachments(pn_event_t *event);
pn_condition_t *pn_event_condition(pn_event_t *event);
