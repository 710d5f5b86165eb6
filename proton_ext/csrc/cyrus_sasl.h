/*
 * The Cyrus SASL bridge: a Proton SASL implementation (proton/sasl_plugin.h) backed by libsasl2.
 *
 * Debian's libqpid-proton is built without Cyrus SASL, so the engine alone offers only
 * ANONYMOUS, PLAIN and EXTERNAL. amqx_cyrus_install() puts this bridge on one transport; from
 * then on every mechanism that an installed Cyrus plug-in provides (SCRAM-SHA-*, DIGEST-MD5,
 * GSSAPI, ...) can be used, client side and server side.
 *
 * Cyrus keeps its plug-in lists and configuration per process, so the bridge initialises it once,
 * lazily: the client side on the first client transport, the server side on the first server
 * transport. The server configuration (directory and application name, read from NAME.conf)
 * must therefore be chosen before the first server transport authenticates:
 * amqx_cyrus_set_config() fails once the server side is initialised with other values.
 *
 * Return conventions: 0 on success, -1 on failure with amqx_cyrus_last_error() (per thread)
 * saying why. Functions that fill a caller's buffer return the length of the full text (like
 * snprintf), so a caller can retry with a larger buffer.
 */
#ifndef AMQX_CYRUS_SASL_H
#define AMQX_CYRUS_SASL_H

#include <stddef.h>

#include <proton/transport.h>

/* The service name given to Cyrus (GSSAPI uses the principal amqp/HOST). */
#define AMQX_CYRUS_SERVICE "amqp"

/* The application name used when none is set: Cyrus then reads proton-server.conf. */
#define AMQX_CYRUS_DEFAULT_APP "proton-server"

/* Where Cyrus looks for NAME.conf when neither amqx_cyrus_set_config, PN_SASL_CONFIG_PATH nor
 * SASL_CONF_PATH names a directory (Debian's libsasl2 default). */
#define AMQX_CYRUS_CONFIG_DIRS "/etc/sasl2:/etc/sasl:/usr/lib/x86_64-linux-gnu/sasl2:/usr/lib/sasl2"

/* The server's authorization-id (proxy) policy, a line of NAME.conf that Cyrus itself ignores:
 * "amqp_authz_policy: any" (the default, as python-qpid-proton) lets an authenticated user ask
 * for any authorization id, which the application reads and judges; "amqp_authz_policy: same"
 * (or any other value) refuses an authorization id other than the user's own. */
#define AMQX_PROXY_OPTION "amqp_authz_policy"

/* Put the bridge on a transport; call after pn_transport_set_server() for a server. */
int amqx_cyrus_install(pn_transport_t *transport);

/* Choose the server configuration directory (NULL: PN_SASL_CONFIG_PATH, else Cyrus's default)
 * and the application name (NULL: "proton-server"); must come before the first server
 * transport. A server transport made with no call to this reads PN_SASL_CONFIG_PATH too. */
int amqx_cyrus_set_config(const char *config_dir, const char *app_name);

/* Space-separated mechanisms Cyrus can use as a client, or can offer as a server under the
 * current configuration (insecure mechanisms included); -1 when Cyrus cannot initialise. */
int amqx_cyrus_client_mechs(char *buffer, size_t size);
int amqx_cyrus_server_mechs(char *buffer, size_t size);

/* For a space-separated list of wanted mechanisms, say which have no client plug-in here and
 * which package provides each; returns how many are missing (text in the buffer), or -1. */
int amqx_cyrus_missing_mechs(const char *mechs, char *buffer, size_t size);

/* The package that provides a mechanism's plug-in, as "Debian: X; RHEL: Y" (never NULL). */
const char *amqx_cyrus_mech_package(const char *mech);

/* Why the last failed amqx_cyrus_* call on this thread failed ("" if none did). */
const char *amqx_cyrus_last_error(void);

#endif
