#!/usr/bin/env python3
"""Cold start of the Lambda bootstrap, measured locally: process start -> first response.

Serves the Runtime API (2018-06-01) on loopback, starts the bootstrap N times (a fresh process
each time, as a new Lambda environment), hands it one event, and reports the time from process
start to the runtime's POST .../response (or .../error) as median/min/max, and the resident memory
(VmRSS) of the bootstrap and of its child processes (the worker) when the response arrived.

  deploy/measure-cold-start.py [--runs 9] [--bootstrap artifacts/lambda/publish/bootstrap]
      [--handler IngestTrades] [--event tests/Pipeline.Lambda.Tests/Fixtures/eventbridge-scheduled.json]
      [--env NAME=VALUE ...]

The package carries only the Aws providers: pass the function's settings with --env (README,
"Cold start and smoke test", shows a session against moto). Benchmark only; no test asserts on these numbers.
"""
import argparse, http.server, json, os, queue, signal, statistics, subprocess, sys, tempfile, threading, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Api(http.server.BaseHTTPRequestHandler):
    events = queue.Queue()
    answers = queue.Queue()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        body = self.events.get()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 60) * 1000)))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The previous run's bootstrap (killed after its response) was still waiting for an event: hand it on.
            self.events.put(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        kind = "init-error" if self.path.endswith("/init/error") else ("error" if self.path.endswith("/error") else "response")
        self.answers.put((time.perf_counter(), kind, body))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return found + [g for c in found for g in children(c)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bootstrap", default=os.path.join(ROOT, "artifacts/lambda/publish/bootstrap"))
    parser.add_argument("--handler", default="IngestTrades")
    parser.add_argument("--event", default=os.path.join(ROOT, "tests/Pipeline.Lambda.Tests/Fixtures/eventbridge-scheduled.json"))
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()
    args.bootstrap = os.path.abspath(args.bootstrap)  # the process starts in the task root
    if not os.path.exists(args.bootstrap):
        sys.exit(f"{args.bootstrap} not found: run deploy/package.sh first")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    event = open(args.event, "rb").read()
    samples, rss_samples, children_samples = [], [], []
    for run in range(args.runs):
        data = tempfile.mkdtemp(prefix="lambda-bench-")
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": data, "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
            "_HANDLER": args.handler,
            "LAMBDA_TASK_ROOT": os.path.dirname(os.path.abspath(args.bootstrap)),
            "Logging__LogLevel__Default": "Warning",
        }
        for pair in args.env:
            name, _, value = pair.partition("=")
            env[name] = value
        Api.events.put(event)
        started = time.perf_counter()
        # A session of its own, so the bootstrap and the worker it starts are killed together.
        process = subprocess.Popen([args.bootstrap], env=env, cwd=env["LAMBDA_TASK_ROOT"], stdout=subprocess.DEVNULL, stderr=None if os.environ.get("MEASURE_DEBUG") else subprocess.DEVNULL, start_new_session=True)
        at, kind, body = Api.answers.get(timeout=120)
        rss, children_rss = rss_kib(process.pid), sum(rss_kib(c) for c in children(process.pid))
        rss_samples.append(rss)
        children_samples.append(children_rss)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        while not Api.events.empty():
            Api.events.get_nowait()
        ms = (at - started) * 1000
        samples.append(ms)
        print(f"run {run + 1}: {ms:7.1f} ms, bootstrap {rss / 1024:.1f} MiB, children {children_rss / 1024:.1f} MiB ({kind}{': ' + body[:200].decode() if kind != 'response' else ''})")
    server.shutdown()
    package = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.bootstrap))), "pipeline-lambda.zip")
    size = os.path.getsize(package) if os.path.exists(package) else 0
    print(json.dumps({"runs": len(samples), "median_ms": round(statistics.median(samples), 1),
                      "min_ms": round(min(samples), 1), "max_ms": round(max(samples), 1),
                      "bootstrap_rss_mib": round(statistics.median(rss_samples) / 1024, 1),
                      "children_rss_mib": round(statistics.median(children_samples) / 1024, 1),
                      "zip_bytes": size}))


if __name__ == "__main__":
    main()
