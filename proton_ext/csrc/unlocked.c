/* Engine calls that may run TLS or SASL work, made with the GIL released: unlocked.h. */
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
