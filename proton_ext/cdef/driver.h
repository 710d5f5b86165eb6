/* pn_connection_driver: a connection, its transport and a collector as one sans-IO unit. */
typedef struct pn_connection_driver_t { pn_connection_t *connection; pn_transport_t *transport; pn_collector_t *collector; ...; } pn_connection_driver_t;

int pn_connection_driver_init(pn_connection_driver_t*, pn_connection_t*, pn_transport_t*);
int pn_connection_driver_bind(pn_connection_driver_t *d);
void pn_connection_driver_destroy(pn_connection_driver_t *);
pn_connection_t *pn_connection_driver_release_connection(pn_connection_driver_t *d);
pn_rwbytes_t pn_connection_driver_read_buffer_sized(pn_connection_driver_t *, size_t n);
pn_rwbytes_t pn_connection_driver_read_buffer(pn_connection_driver_t *);
void pn_connection_driver_read_done(pn_connection_driver_t *, size_t n);
void pn_connection_driver_read_close(pn_connection_driver_t *);
bool pn_connection_driver_read_closed(pn_connection_driver_t *);
pn_bytes_t pn_connection_driver_write_buffer(pn_connection_driver_t *);
pn_bytes_t pn_connection_driver_write_done(pn_connection_driver_t *, size_t n);
void pn_connection_driver_write_close(pn_connection_driver_t *);
bool pn_connection_driver_write_closed(pn_connection_driver_t *);
void pn_connection_driver_close(pn_connection_driver_t * c);
pn_event_t* pn_connection_driver_next_event(pn_connection_driver_t *);
bool pn_connection_driver_has_event(pn_connection_driver_t *);
bool pn_connection_driver_finished(pn_connection_driver_t *);
void pn_connection_driver_log(pn_connection_driver_t *d, const char *msg);
pn_connection_driver_t **pn_connection_driver_ptr(pn_connection_t *connection);
