/* Proton's SASL plug-in interface (proton/sasl_plugin.h): how our Cyrus bridge plugs in. */
typedef struct pnx_sasl_implementation {
  void (*free)(pn_transport_t *transport);
  const char *(*list_mechanisms)(pn_transport_t *transport);
  bool (*init_server)(pn_transport_t *transport);
  bool (*init_client)(pn_transport_t *transport);
  void (*prepare_write)(pn_transport_t *transport);
  void (*process_init)(pn_transport_t *transport, const char *mechanism, const pn_bytes_t *recv);
  void (*process_response)(pn_transport_t *transport, const pn_bytes_t *recv);
  bool (*process_mechanisms)(pn_transport_t *transport, const char *mechs);
  void (*process_challenge)(pn_transport_t *transport, const pn_bytes_t *recv);
  void (*process_outcome)(pn_transport_t *transport, const pn_bytes_t *recv);
  bool (*can_encrypt)(pn_transport_t *transport);
  ssize_t (*max_encrypt_size)(pn_transport_t *transport);
  ssize_t (*encode)(pn_transport_t *transport, pn_bytes_t in, pn_bytes_t *out);
  ssize_t (*decode)(pn_transport_t *transport, pn_bytes_t in, pn_bytes_t *out);
} pnx_sasl_implementation;

enum pnx_sasl_state {
  SASL_NONE, SASL_POSTED_INIT, SASL_POSTED_MECHANISMS, SASL_POSTED_RESPONSE,
  SASL_POSTED_CHALLENGE, SASL_RECVED_SUCCESS, SASL_RECVED_FAILURE, SASL_POSTED_OUTCOME, SASL_ERROR
};

void pnx_sasl_error(pn_transport_t *transport, const char *err, const char *condition_name);
void *pnx_sasl_get_context(pn_transport_t *transport);
void pnx_sasl_set_context(pn_transport_t *transport, void *context);
bool pnx_sasl_is_client(pn_transport_t *transport);
bool pnx_sasl_is_mechanism_included(pn_transport_t *transport, pn_bytes_t s);
bool pnx_sasl_is_transport_encrypted(pn_transport_t *transport);
bool pnx_sasl_get_allow_insecure_mechanisms(pn_transport_t *transport);
bool pnx_sasl_get_authentication_required(pn_transport_t *transport);
const char *pnx_sasl_get_external_username(pn_transport_t *transport);
int pnx_sasl_get_external_ssf(pn_transport_t *transport);
const char *pnx_sasl_get_username(pn_transport_t *transport);
const char *pnx_sasl_get_password(pn_transport_t *transport);
const char *pnx_sasl_get_authorization(pn_transport_t *transport);
void pnx_sasl_clear_password(pn_transport_t *transport);
const char *pnx_sasl_get_remote_fqdn(pn_transport_t *transport);
const char *pnx_sasl_get_selected_mechanism(pn_transport_t *transport);
void pnx_sasl_set_bytes_out(pn_transport_t *transport, pn_bytes_t bytes);
void pnx_sasl_set_desired_state(pn_transport_t *transport, enum pnx_sasl_state desired_state);
void pnx_sasl_set_selected_mechanism(pn_transport_t *transport, const char *mechanism);
void pnx_sasl_set_local_hostname(pn_transport_t *transport, const char *fqdn);
void pnx_sasl_set_succeeded(pn_transport_t *transport, const char *username, const char *authzid);
void pnx_sasl_set_failed(pn_transport_t *transport);
void pnx_sasl_set_implementation(pn_transport_t *transport, const pnx_sasl_implementation *impl, void *context);
