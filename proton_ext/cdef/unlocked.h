/* Transport calls that may run TLS or SASL work, and TLS domain calls that read certificate
   files, with the GIL released: csrc/unlocked.c. */
int amqx_transport_process_unlocked(pn_transport_t *transport, size_t size);
ssize_t amqx_transport_pending_unlocked(pn_transport_t *transport);
ssize_t amqx_transport_push_unlocked(pn_transport_t *transport, const char *src, size_t size);
int amqx_transport_close_tail_unlocked(pn_transport_t *transport);
pn_ssl_domain_t *amqx_ssl_domain_unlocked(pn_ssl_mode_t mode);
int amqx_ssl_domain_set_credentials_unlocked(pn_ssl_domain_t *domain, const char *cert_file, const char *key_file, const char *password);
int amqx_ssl_domain_set_trusted_ca_db_unlocked(pn_ssl_domain_t *domain, const char *ca_db);
int amqx_ssl_domain_set_peer_authentication_unlocked(pn_ssl_domain_t *domain, pn_ssl_verify_mode_t mode, const char *trusted_cas);
