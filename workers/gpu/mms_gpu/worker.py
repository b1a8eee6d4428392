"""Entrypoint of the GPU worker: `python -m mms_gpu.worker` (mms dev starts it when the virtualenv is
set up). It polls task queue mms-gpu for the activities the TypeScript workflows call by name.

Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default), MMS_GPU_TASK_QUEUE
(mms-gpu), MMS_GPU_MAX_ACTIVITIES (2: a training and a download or conversion side by side).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import ALL
from .training import environment_defaults, preload_training_libraries


async def main() -> None:
    environment_defaults()
    started = time.monotonic()
    preload_training_libraries()
    print(f"[gpu-worker] training libraries loaded in {time.monotonic() - started:.1f} s", flush=True)
    address = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    task_queue = os.environ.get("MMS_GPU_TASK_QUEUE", "mms-gpu")
    max_activities = int(os.environ.get("MMS_GPU_MAX_ACTIVITIES", "2"))
    client = await Client.connect(address, namespace=namespace)
    with ThreadPoolExecutor(max_workers=max_activities) as executor:
        worker = Worker(
            client,
            task_queue=task_queue,
            activities=ALL,
            activity_executor=executor,
            max_concurrent_activities=max_activities,
            # On SIGTERM running activities see is_worker_shutdown(), save a checkpoint and stop.
            graceful_shutdown_timeout=timedelta(seconds=30),
        )
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        run = asyncio.create_task(worker.run())
        print(f"[gpu-worker] polling {task_queue} on {address} (namespace {namespace}, pid {os.getpid()})", flush=True)
        await stop.wait()
        print("[gpu-worker] shutting down", flush=True)
        await worker.shutdown()
        await run


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as err:  # one line, like every MMS entrypoint
        print(f"gpu worker failed: {err}", file=sys.stderr)
        sys.exit(1)
