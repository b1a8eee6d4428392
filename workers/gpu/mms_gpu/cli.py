"""Small command line for tests, the pipeline benchmark and local trials:

  python -m mms_gpu.cli persona <rows> <out.jsonl> [--seed N]      persona chat JSONL
  python -m mms_gpu.cli build-tiny <out_dir> <data.jsonl> [--cache DIR]  tiny Llama + BPE tokenizer (prints JSON);
                                                                     with --cache, built once per input and copied
  python -m mms_gpu.cli bench <endpoint> <repo> <work_dir> [--steps N] [--threads N]  every phase of a copy, timed (bench:pipeline)
  python -m mms_gpu.cli serve <model.gguf> <port> <alias> <state_dir> [--lora a.gguf]  a llama.cpp server (detached)
  python -m mms_gpu.cli stop-server <state_dir> <port>              stops the server serve started on that port
"""

from __future__ import annotations

import argparse
import json

from .persona import persona_rows, write_jsonl
from .tiny_model import build_tiny_llama, build_tiny_llama_cached, chat_texts
from .training import environment_defaults


def main(argv: list[str] | None = None) -> None:
    environment_defaults()
    parser = argparse.ArgumentParser(prog="mms_gpu.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("persona")
    p.add_argument("rows", type=int)
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    b = sub.add_parser("build-tiny")
    b.add_argument("out_dir")
    b.add_argument("data")
    b.add_argument("--cache", default=None)
    bench = sub.add_parser("bench")
    bench.add_argument("endpoint")
    bench.add_argument("repo")
    bench.add_argument("work_dir")
    bench.add_argument("--steps", type=int, default=300)
    bench.add_argument("--threads", type=int, default=None)
    serve = sub.add_parser("serve")
    serve.add_argument("model")
    serve.add_argument("port", type=int)
    serve.add_argument("alias")
    serve.add_argument("state_dir")
    serve.add_argument("--lora", default=None)
    stop = sub.add_parser("stop-server")
    stop.add_argument("state_dir")
    stop.add_argument("port", type=int)
    args = parser.parse_args(argv)
    if args.command in ("serve", "stop-server"):
        from . import serving

        if args.command == "serve":
            print(json.dumps(serving.start_server({"modelPath": args.model, "loraPath": args.lora, "port": args.port, "alias": args.alias, "stateDir": args.state_dir})))
        else:
            print(json.dumps(serving.stop_server(args.state_dir, args.port)))
        return
    if args.command == "bench":
        from .bench import run_bench

        print(json.dumps(run_bench(args.endpoint, args.repo, args.work_dir, args.steps, args.threads)))
        return
    if args.command == "persona":
        write_jsonl(args.out, persona_rows(args.rows, args.seed))
        print(json.dumps({"path": args.out, "rows": args.rows}))
    elif args.cache:
        print(json.dumps(build_tiny_llama_cached(args.out_dir, args.data, args.cache)))
    else:
        with open(args.data, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        print(json.dumps(build_tiny_llama(args.out_dir, chat_texts(rows))))


if __name__ == "__main__":
    main()
