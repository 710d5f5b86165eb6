/* Our Cyrus SASL bridge (csrc/cyrus_sasl.c): install it on a transport, configure, diagnose. */
int amqx_cyrus_install(pn_transport_t *transport);
int amqx_cyrus_set_config(const char *config_dir, const char *app_name);
int amqx_cyrus_client_mechs(char *buffer, size_t size);
int amqx_cyrus_server_mechs(char *buffer, size_t size);
int amqx_cyrus_missing_mechs(const char *mechs, char *buffer, size_t size);
const char *amqx_cyrus_mech_package(const char *mech);
const char *amqx_cyrus_last_error(void);
void sasl_version_info(const char **implementation, const char **version_string,
                       int *version_major, int *version_minor, int *version_step,
                       int *version_patch);
