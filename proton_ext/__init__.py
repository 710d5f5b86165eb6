"""proton_ext: our cffi binding to the Qpid Proton C engine and to Cyrus SASL.

``ffi`` and ``lib`` come from the compiled module ``proton_ext._cproton`` (built by
``proton_ext/build.py``). ``amq_python`` calls ``lib.pn_*`` directly: no Python layer per C call.
"""

from proton_ext._cproton import ffi, lib

__all__ = ["ffi", "lib"]
