/* Callbacks from the C engine into Python: cffi ``extern "Python"`` declarations, all in this
   one file. Each is implemented in amq_python with ``@ffi.def_extern()``, and never lets a
   Python exception escape into C (it stores it; the Python caller re-raises it after the C
   call returns). */

/* A pn_tracer_t: receives a transport's trace lines (Transport.tracer). */
extern "Python" void amqx_pytracer(pn_transport_t *transport, const char *message);
