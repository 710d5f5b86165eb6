/* SASL as the engine exposes it: allowed mechanisms, outcome, user. */
typedef enum { PN_SASL_NONE = -1, PN_SASL_OK = 0, PN_SASL_AUTH = 1, PN_SASL_SYS = 2, PN_SASL_PERM = 3, PN_SASL_TEMP = 4 } pn_sasl_outcome_t;

pn_sasl_t *pn_sasl(pn_transport_t *transport);
bool pn_sasl_extended(void);
void pn_sasl_done(pn_sasl_t *sasl, pn_sasl_outcome_t outcome);
pn_sasl_outcome_t pn_sasl_outcome(pn_sasl_t *sasl);
const char *pn_sasl_get_user(pn_sasl_t *sasl);
const char *pn_sasl_get_authorization(pn_sasl_t *sasl);
const char *pn_sasl_get_mech(pn_sasl_t *sasl);
void pn_sasl_allowed_mechs(pn_sasl_t *sasl, const char *mechs);
void pn_sasl_set_allow_insecure_mechs(pn_sasl_t *sasl, bool insecure);
bool pn_sasl_get_allow_insecure_mechs(pn_sasl_t *sasl);
void pn_sasl_config_name(pn_sasl_t *sasl, const char *name);
void pn_sasl_config_path(pn_sasl_t *sasl, const char *path);
