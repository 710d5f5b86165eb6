/*
 * The Cyrus SASL bridge: Proton's SASL plug-in interface implemented over libsasl2.
 *
 * Theory of operation
 * -------------------
 * Proton's SASL layer frames the exchange (mechanisms, init, challenge, response, outcome); this
 * bridge only decides what goes in those frames, by asking Cyrus. Each transport gets one
 * bridge_t (its context), holding one sasl_conn_t, created in init_client / init_server and
 * disposed of in the free entry point, which Proton calls exactly once when the transport goes.
 *
 *   client: process_mechanisms  -> sasl_client_start (Cyrus picks the strongest mechanism
 *                                  from the server's list, filtered by the allowed mechanisms)
 *           process_challenge   -> sasl_client_step
 *           process_outcome     -> sasl_client_step on the server's final data (mutual auth)
 *   server: list_mechanisms     -> sasl_listmech, filtered by the allowed mechanisms
 *           process_init        -> sasl_server_start
 *           process_response    -> sasl_server_step
 *
 * Bytes Cyrus returns stay owned by the sasl_conn_t and valid until its next call; Proton copies
 * what pnx_sasl_set_bytes_out() is given when it writes the next frame, which happens before the
 * bridge calls Cyrus again on that connection.
 *
 * Credentials come from Proton (pnx_sasl_get_username / _password / _authorization) through
 * Cyrus "interactions", so no copy of the password is kept here. Error texts name mechanisms,
 * user-visible settings and Cyrus's detail, never a password.
 *
 * Cyrus is initialised once per process (client and server sides separately), lazily and under a
 * mutex; the server configuration must be chosen before that (amqx_cyrus_set_config).
 *
 * A security layer is supported when Cyrus negotiates one (DIGEST-MD5 or GSSAPI over a plain
 * connection): can_encrypt reports SASL_SSF > 0 and encode/decode go through sasl_encode /
 * sasl_decode. Over TLS the layer is capped at the TLS strength, so none is negotiated.
 */
#include "cyrus_sasl.h"

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proton/sasl.h>
#include <proton/sasl_plugin.h>
#include <sasl/sasl.h>

#define AMQX_UNAUTHORIZED "amqp:unauthorized-access"
#define AMQX_MAX_BUFFER 65536
#define AMQX_TEXT 1024

/* What a failed step sends: nothing (never the stale bytes of an earlier step). */
static const pn_bytes_t NO_BYTES = {0, NULL};

typedef struct bridge_t {
  sasl_conn_t *conn;
  sasl_callback_t callbacks[5];
  char *mechs;
  bool offered;
} bridge_t;

/* ---- process-wide state ------------------------------------------------------------------ */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_config_dir;
static char *g_app_name;
static bool g_client_started, g_server_started;
static bool g_proxy_any = true;
static int g_client_rc, g_server_rc;
static char g_server_fqdn[256];
static __thread char g_last_error[AMQX_TEXT];

static void set_last_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(g_last_error, sizeof g_last_error, format, args);
  va_end(args);
}

const char *amqx_cyrus_last_error(void) { return g_last_error; }

static bool same_text(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *copy_text(const char *text) { return text ? strdup(text) : NULL; }

/* The configuration directory when none is chosen: PN_SASL_CONFIG_PATH, as in Proton. */
static const char *default_config_dir(void) {
  const char *dir = getenv("PN_SASL_CONFIG_PATH");
  return dir && *dir ? dir : NULL;
}

int amqx_cyrus_set_config(const char *config_dir, const char *app_name) {
  int rc = 0;
  if (!config_dir) config_dir = default_config_dir();
  pthread_mutex_lock(&g_lock);
  if (g_server_started) {
    if (!same_text(config_dir, g_config_dir) || !same_text(app_name, g_app_name)) {
      set_last_error("Cyrus SASL server side is already initialised (config dir %s, app %s); "
                     "set the configuration before the first server connection",
                     g_config_dir ? g_config_dir : "default",
                     g_app_name ? g_app_name : AMQX_CYRUS_DEFAULT_APP);
      rc = -1;
    }
  } else {
    free(g_config_dir);
    free(g_app_name);
    g_config_dir = copy_text(config_dir);
    g_app_name = copy_text(app_name);
  }
  pthread_mutex_unlock(&g_lock);
  return rc;
}

static bool client_ready(void) {
  pthread_mutex_lock(&g_lock);
  if (!g_client_started) {
    g_client_rc = sasl_client_init(NULL);
    g_client_started = true;
  }
  int rc = g_client_rc;
  pthread_mutex_unlock(&g_lock);
  if (rc != SASL_OK) {
    set_last_error("Cyrus SASL client initialisation failed: %s", sasl_errstring(rc, NULL, NULL));
  }
  return rc == SASL_OK;
}

/* The authorization-id policy of the server's NAME.conf (see AMQX_PROXY_OPTION in the header),
 * from the first NAME.conf in the directories Cyrus searches: the chosen one, else
 * SASL_CONF_PATH's, else Cyrus's default list. True for "any" (or no such line or file); false
 * for "same" or any other value (fail closed). */
static bool read_proxy_policy(const char *config_dir, const char *app) {
  const char *dirs = config_dir ? config_dir : getenv("SASL_CONF_PATH");
  if (!dirs || !*dirs) dirs = AMQX_CYRUS_CONFIG_DIRS;
  FILE *file = NULL;
  for (const char *p = dirs; *p && !file; p += strspn(p, ":")) {
    size_t n = strcspn(p, ":");
    char path[4096];
    if (n) {
      snprintf(path, sizeof path, "%.*s/%s.conf", (int)n, p, app);
      file = fopen(path, "r");
    }
    p += n;
  }
  if (!file) return true;
  bool any = true;
  char line[1024];
  size_t key_len = strlen(AMQX_PROXY_OPTION);
  while (fgets(line, sizeof line, file)) {
    const char *p = line + strspn(line, " \t");
    if (strncmp(p, AMQX_PROXY_OPTION, key_len) != 0) continue;
    p += key_len;
    p += strspn(p, " \t");
    if (*p != ':') continue;
    p++;
    p += strspn(p, " \t");
    size_t n = strcspn(p, " \t\r\n#");
    any = n == 3 && strncmp(p, "any", 3) == 0;
  }
  fclose(file);
  return any;
}

/* The host's name as Cyrus would find it for a server (gethostname, then its canonical name
   from the resolver, else the plain name), looked up once per process: left to Cyrus, every
   accepted connection asks the resolver again, and a host whose name is not in /etc/hosts waits
   on DNS for each one. GSSAPI's service principal and the default realm come from it. */
static void find_server_fqdn(void) {
  char host[sizeof g_server_fqdn];
  if (gethostname(host, sizeof host) != 0) return;
  host[sizeof host - 1] = '\0';
  snprintf(g_server_fqdn, sizeof g_server_fqdn, "%s", host);
  struct addrinfo hints, *info = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_CANONNAME;
  if (getaddrinfo(host, NULL, &hints, &info) == 0) {
    if (info && info->ai_canonname) {
      snprintf(g_server_fqdn, sizeof g_server_fqdn, "%s", info->ai_canonname);
    }
    freeaddrinfo(info);
  }
}

/* NULL (Cyrus looks the name up itself) when gethostname failed. */
static const char *server_fqdn(void) { return g_server_fqdn[0] ? g_server_fqdn : NULL; }

static bool server_ready(void) {
  pthread_mutex_lock(&g_lock);
  if (!g_server_started) {
    if (!g_config_dir) g_config_dir = copy_text(default_config_dir());
    const char *app = g_app_name ? g_app_name : AMQX_CYRUS_DEFAULT_APP;
    g_server_rc = SASL_OK;
    if (g_config_dir) g_server_rc = sasl_set_path(SASL_PATH_TYPE_CONFIG, g_config_dir);
    if (g_server_rc == SASL_OK) g_server_rc = sasl_server_init(NULL, app);
    if (g_server_rc == SASL_OK) g_proxy_any = read_proxy_policy(g_config_dir, app);
    if (g_server_rc == SASL_OK) find_server_fqdn();
    g_server_started = true;
  }
  int rc = g_server_rc;
  pthread_mutex_unlock(&g_lock);
  if (rc != SASL_OK) {
    set_last_error("Cyrus SASL server initialisation failed (config dir %s, app %s): %s",
                   g_config_dir ? g_config_dir : "default",
                   g_app_name ? g_app_name : AMQX_CYRUS_DEFAULT_APP,
                   sasl_errstring(rc, NULL, NULL));
  }
  return rc == SASL_OK;
}

/* ---- mechanism names and packages -------------------------------------------------------- */

static bool mech_has_prefix(const char *mech, const char *prefix) {
  return strncasecmp(mech, prefix, strlen(prefix)) == 0;
}

const char *amqx_cyrus_mech_package(const char *mech) {
  if (mech_has_prefix(mech, "SCRAM-")) return "Debian: libsasl2-modules; RHEL: cyrus-sasl-scram";
  if (!strcasecmp(mech, "PLAIN") || !strcasecmp(mech, "LOGIN"))
    return "Debian: libsasl2-modules; RHEL: cyrus-sasl-plain";
  if (!strcasecmp(mech, "DIGEST-MD5") || !strcasecmp(mech, "CRAM-MD5"))
    return "Debian: libsasl2-modules; RHEL: cyrus-sasl-md5";
  if (!strcasecmp(mech, "GSSAPI") || mech_has_prefix(mech, "GS2-"))
    return "Debian: libsasl2-modules-gssapi-mit; RHEL: cyrus-sasl-gssapi";
  if (!strcasecmp(mech, "ANONYMOUS")) return "Debian: libsasl2-modules; RHEL: cyrus-sasl-lib";
  if (!strcasecmp(mech, "NTLM")) return "Debian: libsasl2-modules; RHEL: cyrus-sasl-ntlm";
  if (!strcasecmp(mech, "OTP")) return "Debian: libsasl2-modules-otp; RHEL: not packaged";
  if (!strcasecmp(mech, "EXTERNAL")) return "Debian: libsasl2-2; RHEL: cyrus-sasl-lib";
  return "no known package: see saslpluginviewer for the installed plug-ins";
}

/* Mechanisms that send a password (hashed or not): useless without one. */
static bool mech_needs_password(const char *mech) {
  static const char *const with_password[] = {"PLAIN", "LOGIN", "DIGEST-MD5", "CRAM-MD5",
                                              "NTLM", "OTP", "SRP", NULL};
  if (mech_has_prefix(mech, "SCRAM-")) return true;
  for (int i = 0; with_password[i]; i++) {
    if (!strcasecmp(mech, with_password[i])) return true;
  }
  return false;
}

static bool mech_sends_plaintext(const char *mech) {
  return !strcasecmp(mech, "PLAIN") || !strcasecmp(mech, "LOGIN");
}

/* Is MECH a word of the space/comma separated LIST? */
static bool list_has(const char *list, const char *mech) {
  size_t n = strlen(mech);
  const char *p = list;
  while (p && *p) {
    p += strspn(p, " ,");
    size_t len = strcspn(p, " ,");
    if (len == n && len > 0 && strncasecmp(p, mech, n) == 0) return true;
    p += len;
  }
  return false;
}

/* Append WORD to the space-separated list in BUF (capacity SIZE); false when it does not fit. */
static bool append_word(char *buf, size_t size, const char *word, size_t len) {
  size_t used = strlen(buf);
  size_t need = used + (used ? 1 : 0) + len + 1;
  if (need > size) return false;
  if (used) buf[used++] = ' ';
  memcpy(buf + used, word, len);
  buf[used + len] = '\0';
  return true;
}

/* Remove every occurrence of the word WORD from the space-separated LIST, in place. */
static void remove_word(char *list, const char *word) {
  char *kept = calloc(1, strlen(list) + 1);
  if (!kept) return;
  size_t n = strlen(word);
  const char *p = list;
  while (*p) {
    p += strspn(p, " ,");
    size_t len = strcspn(p, " ,");
    if (len && !(len == n && strncasecmp(p, word, n) == 0)) {
      append_word(kept, strlen(list) + 1, p, len);
    }
    p += len;
  }
  strcpy(list, kept);
  free(kept);
}

/* snprintf-like copy: returns the full length, writes what fits. */
static int give_text(const char *text, char *buffer, size_t size) {
  size_t len = strlen(text);
  if (buffer && size) {
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(buffer, text, n);
    buffer[n] = '\0';
  }
  return (int)len;
}

/* ---- per-connection setup ---------------------------------------------------------------- */

static int bridge_log(void *context, int level, const char *message) {
  pn_transport_t *transport = (pn_transport_t *)context;
  pn_log_level_t pn_level = PN_LEVEL_DEBUG;
  if (level <= SASL_LOG_ERR) pn_level = PN_LEVEL_ERROR;
  else if (level <= SASL_LOG_WARN) pn_level = PN_LEVEL_WARNING;
  else if (level <= SASL_LOG_NOTE) pn_level = PN_LEVEL_INFO;
  pnx_sasl_logf(transport, pn_level, "cyrus: %s", message ? message : "");
  return SASL_OK;
}

/* The "any" authorization-id policy: a user Cyrus has authenticated may ask for any authorization
 * id; the server reads both (pn_sasl_get_user, pn_sasl_get_authorization) and decides. Without
 * this callback ("same"), Cyrus's own policy refuses an id other than the user's. */
static int bridge_authorize(sasl_conn_t *conn, void *context, const char *requested,
                            unsigned requested_len, const char *user, unsigned user_len,
                            const char *realm, unsigned realm_len, struct propctx *props) {
  (void)conn, (void)context, (void)requested, (void)requested_len, (void)user, (void)user_len;
  (void)realm, (void)realm_len, (void)props;
  return SASL_OK;
}

/* Cyrus's log goes to the transport's logger. A client also declares the user name, authorisation
 * id and password prompts with no function: Cyrus then asks for them as interactions (answered in
 * answer_interactions) and counts mechanisms that need them as usable. A server under the "any"
 * authorization-id policy has bridge_authorize. */
static void set_callbacks(sasl_callback_t *callbacks, pn_transport_t *transport, bool client) {
  int n = 0;
  callbacks[n++] = (sasl_callback_t){SASL_CB_LOG, (int (*)(void))bridge_log, transport};
  if (client) {
    callbacks[n++] = (sasl_callback_t){SASL_CB_USER, NULL, NULL};
    callbacks[n++] = (sasl_callback_t){SASL_CB_AUTHNAME, NULL, NULL};
    callbacks[n++] = (sasl_callback_t){SASL_CB_PASS, NULL, NULL};
  } else if (g_proxy_any) {
    callbacks[n++] = (sasl_callback_t){SASL_CB_PROXY_POLICY, (int (*)(void))bridge_authorize, NULL};
  }
  callbacks[n] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
}

static bridge_t *bridge_of(pn_transport_t *transport) {
  return (bridge_t *)pnx_sasl_get_context(transport);
}

/* Security properties: no plaintext passwords on a cleartext link unless allowed; a security
 * layer only where TLS does not already protect the link; the TLS identity for EXTERNAL. */
static int apply_properties(pn_transport_t *transport, sasl_conn_t *conn, bool client) {
  bool encrypted = pnx_sasl_is_transport_encrypted(transport);
  sasl_ssf_t external_ssf = (sasl_ssf_t)pnx_sasl_get_external_ssf(transport);
  sasl_security_properties_t props;
  memset(&props, 0, sizeof props);
  props.min_ssf = 0;
  props.max_ssf = encrypted ? external_ssf : 256;
  props.maxbufsize = encrypted ? 0 : AMQX_MAX_BUFFER;
  if (!encrypted && !pnx_sasl_get_allow_insecure_mechanisms(transport)) {
    props.security_flags |= SASL_SEC_NOPLAINTEXT;
  }
  int rc = sasl_setprop(conn, SASL_SEC_PROPS, &props);
  if (rc == SASL_OK && external_ssf > 0) {
    rc = sasl_setprop(conn, SASL_SSF_EXTERNAL, &external_ssf);
    const char *external_id = pnx_sasl_get_external_username(transport);
    if (client && !external_id) external_id = pnx_sasl_get_username(transport);
    if (rc == SASL_OK && external_id) rc = sasl_setprop(conn, SASL_AUTH_EXTERNAL, external_id);
  }
  return rc;
}

/* Setup failed: Cyrus's detail for a connection, or why initialisation failed. */
static void fail_setup(pn_transport_t *transport, const char *side, sasl_conn_t *conn) {
  char text[AMQX_TEXT];
  snprintf(text, sizeof text, "Cyrus SASL %s setup failed: %s", side,
           conn ? sasl_errdetail(conn) : amqx_cyrus_last_error());
  pnx_sasl_error(transport, text, AMQX_UNAUTHORIZED);
}

static int new_client_conn(pn_transport_t *transport, bridge_t *bridge) {
  set_callbacks(bridge->callbacks, transport, true);
  const char *host = pnx_sasl_get_remote_fqdn(transport);
  int rc = sasl_client_new(AMQX_CYRUS_SERVICE, host ? host : "localhost", NULL, NULL,
                           bridge->callbacks, SASL_SUCCESS_DATA, &bridge->conn);
  if (rc == SASL_OK) rc = apply_properties(transport, bridge->conn, true);
  return rc;
}

static bool bridge_init_client(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  if (!client_ready()) {
    fail_setup(transport, "client", NULL);
    return false;
  }
  int rc = new_client_conn(transport, bridge);
  if (rc != SASL_OK) {
    fail_setup(transport, "client", bridge->conn);
    return false;
  }
  return true;
}

static bool bridge_init_server(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  if (!server_ready()) {
    fail_setup(transport, "server", NULL);
    return false;
  }
  set_callbacks(bridge->callbacks, transport, false);
  int rc = sasl_server_new(AMQX_CYRUS_SERVICE, server_fqdn(), NULL, NULL, NULL,
                           bridge->callbacks, SASL_SUCCESS_DATA, &bridge->conn);
  if (rc == SASL_OK) rc = apply_properties(transport, bridge->conn, false);
  if (rc != SASL_OK) {
    fail_setup(transport, "server", bridge->conn);
    return false;
  }
  return true;
}

static void bridge_free(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  if (!bridge) return;
  if (bridge->conn) sasl_dispose(&bridge->conn);
  free(bridge->mechs);
  free(bridge);
  pnx_sasl_set_context(transport, NULL);
}

/* Space-separated mechanisms of a Cyrus connection, filtered by the transport's allowed list. */
static char *allowed_mechs(pn_transport_t *transport, sasl_conn_t *conn) {
  const char *all = NULL;
  unsigned len = 0;
  int count = 0;
  if (sasl_listmech(conn, NULL, "", " ", "", &all, &len, &count) != SASL_OK || !all) all = "";
  char *out = calloc(1, strlen(all) + 1);
  if (!out) return NULL;
  const char *p = all;
  while (*p) {
    p += strspn(p, " ");
    size_t n = strcspn(p, " ");
    if (n && pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){n, p})) {
      append_word(out, strlen(all) + 1, p, n);
    }
    p += n;
  }
  return out;
}

static const char *bridge_list_mechs(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  if (!bridge->conn) return "";
  free(bridge->mechs);
  bridge->mechs = allowed_mechs(transport, bridge->conn);
  return bridge->mechs ? bridge->mechs : "";
}

/* A server's first write offers its mechanisms; every other frame is posted by the process_*
 * entry points as they set Proton's desired state. */
static void bridge_prepare_write(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  if (pnx_sasl_is_client(transport) || bridge->offered) return;
  bridge->offered = true;
  pnx_sasl_set_desired_state(transport, SASL_POSTED_MECHANISMS);
}

/* ---- server side ------------------------------------------------------------------------- */

static void server_outcome(pn_transport_t *transport, int rc, const char *out, unsigned outlen) {
  bridge_t *bridge = bridge_of(transport);
  if (rc == SASL_CONTINUE) {
    pnx_sasl_set_bytes_out(transport, (pn_bytes_t){outlen, out});
    pnx_sasl_set_desired_state(transport, SASL_POSTED_CHALLENGE);
    return;
  }
  if (rc == SASL_OK) {
    const void *authn = NULL, *authz = NULL;
    sasl_getprop(bridge->conn, SASL_AUTHUSER, &authn);
    sasl_getprop(bridge->conn, SASL_USERNAME, &authz);
    /* Cyrus's SASL_USERNAME is the authorization id: the one asked for, else the user. */
    const char *user = authn ? (const char *)authn : (const char *)authz;
    pnx_sasl_set_succeeded(transport, user, authz ? (const char *)authz : user);
    pnx_sasl_set_bytes_out(transport, (pn_bytes_t){outlen, out});
  } else {
    pnx_sasl_set_bytes_out(transport, NO_BYTES);
    pnx_sasl_set_failed(transport);
    pnx_sasl_set_desired_state(transport, SASL_POSTED_OUTCOME);
    pnx_sasl_error(transport, bridge->conn ? sasl_errdetail(bridge->conn) : "no Cyrus connection",
                   AMQX_UNAUTHORIZED);
    return;
  }
  pnx_sasl_set_desired_state(transport, SASL_POSTED_OUTCOME);
}

static void bridge_process_init(pn_transport_t *transport, const char *mechanism,
                                const pn_bytes_t *recv) {
  bridge_t *bridge = bridge_of(transport);
  const char *out = NULL;
  unsigned outlen = 0;
  if (!bridge->conn ||
      !pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){strlen(mechanism), mechanism})) {
    pnx_sasl_set_bytes_out(transport, NO_BYTES);
    pnx_sasl_set_failed(transport);
    pnx_sasl_set_desired_state(transport, SASL_POSTED_OUTCOME);
    pnx_sasl_error(transport, "the client chose a mechanism this server does not allow",
                   AMQX_UNAUTHORIZED);
    return;
  }
  int rc = sasl_server_start(bridge->conn, mechanism, recv ? recv->start : NULL,
                             recv ? (unsigned)recv->size : 0, &out, &outlen);
  server_outcome(transport, rc, out, outlen);
}

static void bridge_process_response(pn_transport_t *transport, const pn_bytes_t *recv) {
  bridge_t *bridge = bridge_of(transport);
  const char *out = NULL;
  unsigned outlen = 0;
  int rc = sasl_server_step(bridge->conn, recv ? recv->start : NULL,
                            recv ? (unsigned)recv->size : 0, &out, &outlen);
  server_outcome(transport, rc, out, outlen);
}

/* ---- client side ------------------------------------------------------------------------- */

/* Answer Cyrus's questions from the connection's settings; never keeps a copy. */
static void answer_interactions(pn_transport_t *transport, sasl_interact_t *interact) {
  for (; interact && interact->id != SASL_CB_LIST_END; interact++) {
    const char *value = NULL;
    switch (interact->id) {
    case SASL_CB_AUTHNAME:
      value = pnx_sasl_get_username(transport);
      break;
    case SASL_CB_USER:
      value = pnx_sasl_get_authorization(transport);
      break;
    case SASL_CB_PASS:
      value = pnx_sasl_get_password(transport);
      break;
    default:
      value = interact->defresult;
    }
    if (!value) value = interact->defresult ? interact->defresult : "";
    interact->result = value;
    interact->len = (unsigned)strlen(value);
  }
}

/* Report that no offered mechanism can be used, and why, mechanism by mechanism. */
static void fail_no_mechanism(pn_transport_t *transport, const char *offered, int rc,
                              const char *tried) {
  char text[AMQX_TEXT];
  pnx_sasl_set_bytes_out(transport, NO_BYTES);
  size_t used = (size_t)snprintf(text, sizeof text,
                                 "No usable SASL mechanism (server offers: %s)", offered);
  bool any_allowed = false;
  char installed[AMQX_TEXT];
  int have_list = amqx_cyrus_client_mechs(installed, sizeof installed) >= 0;
  bool encrypted = pnx_sasl_is_transport_encrypted(transport);
  const char *p = offered;
  while (*p && used < sizeof text) {
    p += strspn(p, " ,");
    size_t n = strcspn(p, " ,");
    char mech[64];
    if (n == 0 || n >= sizeof mech) {
      p += n;
      continue;
    }
    memcpy(mech, p, n);
    mech[n] = '\0';
    p += n;
    if (!pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){n, mech})) continue;
    any_allowed = true;
    const char *why = NULL;
    char detail[256];
    snprintf(detail, sizeof detail, "[%s:", mech);
    if (strstr(tried, detail)) continue;
    if (have_list && !list_has(installed, mech)) {
      snprintf(detail, sizeof detail, "no Cyrus SASL plug-in for %s is installed (install %s)",
               mech, amqx_cyrus_mech_package(mech));
      why = detail;
    } else if (mech_sends_plaintext(mech) && !encrypted &&
               !pnx_sasl_get_allow_insecure_mechanisms(transport)) {
      why = "sends the password in clear on an unencrypted connection: use TLS or allow "
            "insecure mechanisms";
    } else if (mech_needs_password(mech) && !pnx_sasl_get_password(transport)) {
      why = "needs a user name and password and none is set";
    } else if (!strcasecmp(mech, "ANONYMOUS") && pnx_sasl_get_username(transport)) {
      why = "not used because a user name is set (name it in allowed_mechs to use it anyway)";
    } else {
      why = sasl_errstring(rc, NULL, NULL);
    }
    used += (size_t)snprintf(text + used, sizeof text - used, "; %s: %s", mech, why);
  }
  if (!any_allowed && used < sizeof text) {
    snprintf(text + used, sizeof text - used, "; none of them is in the allowed mechanisms");
  } else if (*tried && used < sizeof text) {
    snprintf(text + used, sizeof text - used, "; could not start:%s", tried);
  }
  pnx_sasl_error(transport, text, AMQX_UNAUTHORIZED);
}

static void fail_client(pn_transport_t *transport, const char *step) {
  bridge_t *bridge = bridge_of(transport);
  char text[AMQX_TEXT];
  pnx_sasl_set_bytes_out(transport, NO_BYTES);
  const char *mech = pnx_sasl_get_selected_mechanism(transport);
  snprintf(text, sizeof text, "SASL %s failed [mech=%s]: %s", step, mech ? mech : "none",
           bridge->conn ? sasl_errdetail(bridge->conn) : "no Cyrus connection");
  pnx_sasl_error(transport, text, AMQX_UNAUTHORIZED);
}

/* Does the transport's allowed-mechanisms list name MECH? False when no list is set (then every
 * mechanism is included, a made-up one too). */
static bool allowed_names(pn_transport_t *transport, const char *mech) {
  static const char unknown[] = "AMQX-NOT-A-MECHANISM";
  if (pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){sizeof unknown - 1, unknown})) {
    return false;
  }
  return pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){strlen(mech), mech});
}

/* A user name rules ANONYMOUS out, unless the allowed mechanisms name it: then the application
 * asked for it (allowed_mechs="ANONYMOUS" forces it, as in python-qpid-proton). */
static bool bridge_process_mechanisms(pn_transport_t *transport, const char *mechs) {
  bridge_t *bridge = bridge_of(transport);
  if (!bridge->conn) return false;
  bool have_user = pnx_sasl_get_username(transport) != NULL;
  bool have_password = pnx_sasl_get_password(transport) != NULL;
  bool anonymous_named = allowed_names(transport, "ANONYMOUS");
  size_t size = strlen(mechs) + 1;
  char *usable = calloc(1, size);
  if (!usable) return false;
  const char *p = mechs;
  while (*p) {
    p += strspn(p, " ,");
    size_t n = strcspn(p, " ,");
    char mech[64];
    if (n > 0 && n < sizeof mech) {
      memcpy(mech, p, n);
      mech[n] = '\0';
      bool wanted = pnx_sasl_is_mechanism_included(transport, (pn_bytes_t){n, p});
      if (mech_needs_password(mech) && !have_password) wanted = false;
      if (!strcasecmp(mech, "ANONYMOUS") && have_user && !anonymous_named) wanted = false;
      if (wanted) append_word(usable, size, p, n);
    }
    p += n;
  }
  const char *out = NULL, *chosen = NULL;
  unsigned outlen = 0;
  int rc = SASL_NOMECH;
  char tried[AMQX_TEXT] = "";
  while (*usable) {
    sasl_interact_t *interact = NULL;
    chosen = NULL;
    do {
      answer_interactions(transport, interact);
      rc = sasl_client_start(bridge->conn, usable, &interact, &out, &outlen, &chosen);
    } while (rc == SASL_INTERACT);
    if (rc == SASL_OK || rc == SASL_CONTINUE || rc == SASL_NOMECH || !chosen) break;
    /* The strongest mechanism cannot start here (GSSAPI without a Kerberos ticket, say):
     * note why, and let Cyrus pick again from the rest on a fresh connection. */
    size_t used = strlen(tried);
    snprintf(tried + used, sizeof tried - used, " [%s: %s]", chosen,
             sasl_errdetail(bridge->conn));
    pnx_sasl_logf(transport, PN_LEVEL_INFO, "cannot start %s, trying the next mechanism", chosen);
    remove_word(usable, chosen);
    sasl_dispose(&bridge->conn);
    rc = new_client_conn(transport, bridge);
    if (rc != SASL_OK) {
      free(usable);
      fail_setup(transport, "client", bridge->conn);
      return false;
    }
    rc = SASL_NOMECH;
  }
  free(usable);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    if (rc == SASL_NOMECH) fail_no_mechanism(transport, mechs, rc, tried);
    else fail_client(transport, "start");
    return false;
  }
  pnx_sasl_set_selected_mechanism(transport, chosen);
  pnx_sasl_set_bytes_out(transport, (pn_bytes_t){outlen, out});
  pnx_sasl_set_desired_state(transport, SASL_POSTED_INIT);
  return true;
}

static int client_step(pn_transport_t *transport, const pn_bytes_t *recv, const char **out,
                       unsigned *outlen) {
  bridge_t *bridge = bridge_of(transport);
  sasl_interact_t *interact = NULL;
  int rc;
  do {
    answer_interactions(transport, interact);
    rc = sasl_client_step(bridge->conn, recv ? recv->start : NULL,
                          recv ? (unsigned)recv->size : 0, &interact, out, outlen);
  } while (rc == SASL_INTERACT);
  return rc;
}

static void bridge_process_challenge(pn_transport_t *transport, const pn_bytes_t *recv) {
  const char *out = NULL;
  unsigned outlen = 0;
  int rc = client_step(transport, recv, &out, &outlen);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    fail_client(transport, "challenge");
    return;
  }
  pnx_sasl_set_bytes_out(transport, (pn_bytes_t){outlen, out});
  pnx_sasl_set_desired_state(transport, SASL_POSTED_RESPONSE);
}

/* On success, the server's final data (SCRAM's server signature) proves the server knew the
 * password: a connection whose data does not verify is failed even though the server said ok. */
static void bridge_process_outcome(pn_transport_t *transport, const pn_bytes_t *recv) {
  if (pn_sasl_outcome(pn_sasl(transport)) != PN_SASL_OK) {
    const char *mech = pnx_sasl_get_selected_mechanism(transport);
    char text[AMQX_TEXT];
    snprintf(text, sizeof text,
             "Authentication failed [mech=%s]: the server rejected the credentials for user %s",
             mech ? mech : "none",
             pnx_sasl_get_username(transport) ? pnx_sasl_get_username(transport) : "(none)");
    pnx_sasl_error(transport, text, AMQX_UNAUTHORIZED);
    return;
  }
  if (!recv || recv->size == 0) return;
  const char *out = NULL;
  unsigned outlen = 0;
  int rc = client_step(transport, recv, &out, &outlen);
  if (rc != SASL_OK) {
    fail_client(transport, "server verification");
    pnx_sasl_set_failed(transport);
  }
}

/* ---- security layer ---------------------------------------------------------------------- */

static bool bridge_can_encrypt(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  const void *ssf = NULL;
  if (!bridge->conn || sasl_getprop(bridge->conn, SASL_SSF, &ssf) != SASL_OK || !ssf) return false;
  return *(const sasl_ssf_t *)ssf > 0;
}

static ssize_t bridge_max_encrypt_size(pn_transport_t *transport) {
  bridge_t *bridge = bridge_of(transport);
  const void *size = NULL;
  if (!bridge->conn || sasl_getprop(bridge->conn, SASL_MAXOUTBUF, &size) != SASL_OK || !size) {
    return PN_ERR;
  }
  return (ssize_t) * (const unsigned *)size;
}

/* sasl_encode and sasl_decode share one signature: run either over the security layer. */
typedef int (*sasl_coder_t)(sasl_conn_t *, const char *, unsigned, const char **, unsigned *);

static ssize_t bridge_code(pn_transport_t *transport, pn_bytes_t in, pn_bytes_t *out,
                           sasl_coder_t code, const char *what) {
  bridge_t *bridge = bridge_of(transport);
  const char *output = NULL;
  unsigned outlen = 0;
  if (code(bridge->conn, in.start, (unsigned)in.size, &output, &outlen) != SASL_OK) {
    pnx_sasl_logf(transport, PN_LEVEL_ERROR, "SASL %s failed: %s", what,
                  sasl_errdetail(bridge->conn));
    return PN_ERR;
  }
  *out = (pn_bytes_t){outlen, output};
  return (ssize_t)outlen;
}

static ssize_t bridge_encode(pn_transport_t *transport, pn_bytes_t in, pn_bytes_t *out) {
  return bridge_code(transport, in, out, sasl_encode, "encode");
}

static ssize_t bridge_decode(pn_transport_t *transport, pn_bytes_t in, pn_bytes_t *out) {
  return bridge_code(transport, in, out, sasl_decode, "decode");
}

static const pnx_sasl_implementation bridge_impl = {
    bridge_free,
    bridge_list_mechs,
    bridge_init_server,
    bridge_init_client,
    bridge_prepare_write,
    bridge_process_init,
    bridge_process_response,
    bridge_process_mechanisms,
    bridge_process_challenge,
    bridge_process_outcome,
    bridge_can_encrypt,
    bridge_max_encrypt_size,
    bridge_encode,
    bridge_decode,
};

/* ---- public entry points ----------------------------------------------------------------- */

int amqx_cyrus_install(pn_transport_t *transport) {
  if (!transport) {
    set_last_error("amqx_cyrus_install: no transport");
    return -1;
  }
  pn_sasl(transport);
  if (pnx_sasl_get_context(transport)) return 0;
  bridge_t *bridge = calloc(1, sizeof *bridge);
  if (!bridge) {
    set_last_error("amqx_cyrus_install: out of memory");
    return -1;
  }
  pnx_sasl_set_implementation(transport, &bridge_impl, bridge);
  return 0;
}

/* Mechanisms of a throwaway connection with every restriction lifted. */
static int list_of(sasl_conn_t *conn, char *buffer, size_t size) {
  sasl_security_properties_t props;
  memset(&props, 0, sizeof props);
  props.max_ssf = 256;
  props.maxbufsize = AMQX_MAX_BUFFER;
  sasl_setprop(conn, SASL_SEC_PROPS, &props);
  const char *all = NULL;
  unsigned len = 0;
  int count = 0;
  int rc = sasl_listmech(conn, NULL, "", " ", "", &all, &len, &count);
  if (rc != SASL_OK && rc != SASL_NOMECH) {
    set_last_error("sasl_listmech failed: %s", sasl_errdetail(conn));
    return -1;
  }
  return give_text(rc == SASL_OK && all ? all : "", buffer, size);
}

int amqx_cyrus_client_mechs(char *buffer, size_t size) {
  if (!client_ready()) return -1;
  sasl_conn_t *conn = NULL;
  sasl_callback_t callbacks[5];
  set_callbacks(callbacks, NULL, true);
  callbacks[0].proc = NULL;
  int rc = sasl_client_new(AMQX_CYRUS_SERVICE, "localhost", NULL, NULL, callbacks, 0, &conn);
  if (rc != SASL_OK) {
    set_last_error("sasl_client_new failed: %s", sasl_errstring(rc, NULL, NULL));
    return -1;
  }
  sasl_ssf_t ssf = 256;
  sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf);
  sasl_setprop(conn, SASL_AUTH_EXTERNAL, "diagnose");
  int len = list_of(conn, buffer, size);
  sasl_dispose(&conn);
  return len;
}

int amqx_cyrus_server_mechs(char *buffer, size_t size) {
  if (!server_ready()) return -1;
  sasl_conn_t *conn = NULL;
  int rc = sasl_server_new(AMQX_CYRUS_SERVICE, server_fqdn(), NULL, NULL, NULL, NULL, 0, &conn);
  if (rc != SASL_OK) {
    set_last_error("sasl_server_new failed: %s", sasl_errstring(rc, NULL, NULL));
    return -1;
  }
  int len = list_of(conn, buffer, size);
  sasl_dispose(&conn);
  return len;
}

int amqx_cyrus_missing_mechs(const char *mechs, char *buffer, size_t size) {
  char installed[AMQX_TEXT];
  if (amqx_cyrus_client_mechs(installed, sizeof installed) < 0) return -1;
  char text[AMQX_TEXT] = "";
  size_t used = 0;
  int missing = 0;
  const char *p = mechs ? mechs : "";
  while (*p) {
    p += strspn(p, " ,");
    size_t n = strcspn(p, " ,");
    char mech[64];
    if (n > 0 && n < sizeof mech) {
      memcpy(mech, p, n);
      mech[n] = '\0';
      if (!list_has(installed, mech)) {
        missing++;
        if (used < sizeof text) {
          used += (size_t)snprintf(text + used, sizeof text - used,
                                   "%sno Cyrus SASL plug-in for %s is installed (install %s)",
                                   used ? "; " : "", mech, amqx_cyrus_mech_package(mech));
        }
      }
    }
    p += n;
  }
  give_text(text, buffer, size);
  return missing;
}
