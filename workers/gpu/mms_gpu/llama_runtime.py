"""llama.cpp's CPU "extra buffer types" (weight repacking, and AMX tiles on Intel CPUs that advertise
AMX) are off unless MMS_LLAMA_EXTRA_BUFFERS=1. Measured on this project's 2-core VM: the CPU reports
amx_int8/amx_tile, llama.cpp (built with GGML_NATIVE) repacks a q8_0 model into them, and the first
decode dies with SIGILL ("Illegal instruction"); with use_extra_bufts off the same file evaluates.
A GPU node offloads the layers anyway, so only the CPU repack speed-up is given up.

  python -m mms_gpu.llama_runtime <llama_cpp.server arguments>   the OpenAI-compatible server, patched
"""

from __future__ import annotations

import os


def apply() -> None:
    """Makes every Llama() created afterwards in this process load without extra buffer types."""
    if os.environ.get("MMS_LLAMA_EXTRA_BUFFERS") == "1":
        return
    import llama_cpp.llama_cpp as bindings

    upstream = bindings.llama_model_default_params
    if getattr(upstream, "_mms_patched", False):
        return

    def default_params():
        params = upstream()
        params.use_extra_bufts = False
        return params

    default_params._mms_patched = True  # type: ignore[attr-defined]
    bindings.llama_model_default_params = default_params


if __name__ == "__main__":
    apply()
    from llama_cpp.server.__main__ import main

    main()
