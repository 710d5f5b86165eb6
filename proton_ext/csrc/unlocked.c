/* Engine calls that may run TLS or SASL work or read certificate files, made with the GIL
   released: unlocked.h. */
#include <Python.h>

#include "unlocked.h"

int amqx_transport_process_unlocked(pn_transport_t *transport, size_t size)
{
    int result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_transport_process(transport, size);
    Py_END_ALLOW_THREADS
    return result;
}

ssize_t amqx_transport_pending_unlocked(pn_transport_t *transport)
{
    ssize_t result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_transport_pending(transport);
    Py_END_ALLOW_THREADS
    return result;
}

ssize_t amqx_transport_push_unlocked(pn_transport_t *transport, const char *src, size_t size)
{
    ssize_t result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_transport_push(transport, src, size);
    Py_END_ALLOW_THREADS
    return result;
}

int amqx_transport_close_tail_unlocked(pn_transport_t *transport)
{
    int result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_transport_close_tail(transport);
    Py_END_ALLOW_THREADS
    return result;
}

pn_ssl_domain_t *amqx_ssl_domain_unlocked(pn_ssl_mode_t mode)
{
    pn_ssl_domain_t *result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_ssl_domain(mode);
    Py_END_ALLOW_THREADS
    return result;
}

int amqx_ssl_domain_set_credentials_unlocked(pn_ssl_domain_t *domain, const char *cert_file,
                                             const char *key_file, const char *password)
{
    int result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_ssl_domain_set_credentials(domain, cert_file, key_file, password);
    Py_END_ALLOW_THREADS
    return result;
}

int amqx_ssl_domain_set_trusted_ca_db_unlocked(pn_ssl_domain_t *domain, const char *ca_db)
{
    int result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_ssl_domain_set_trusted_ca_db(domain, ca_db);
    Py_END_ALLOW_THREADS
    return result;
}

int amqx_ssl_domain_set_peer_authentication_unlocked(pn_ssl_domain_t *domain,
                                                     pn_ssl_verify_mode_t mode,
                                                     const char *trusted_cas)
{
    int result;
    Py_BEGIN_ALLOW_THREADS
    result = pn_ssl_domain_set_peer_authentication(domain, mode, trusted_cas);
    Py_END_ALLOW_THREADS
    return result;
}
