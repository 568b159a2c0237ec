#!/usr/bin/env python3
"""Reads `perf script` output (call stacks of the zync server) on stdin and prints where the
server's CPU went, by stage of a posted message. A sample belongs to the first stage, in the order
below, that any frame of its stack names; the HTTP stage takes what is left of request handling,
and the runtime stage everything else (the scheduler, idle polling, kernel work outside a task).

Usage: perf script -i server.perf | bench/profile/stages.py [CPU µs per message]
"""
import re
import sys

STAGES = [
    ("password hashing (argon2)", r"argon2::"),
    ("auth: token check (JWT + credential version query)", r"CurrentUser as axum_core::extract::FromRequestParts|CurrentUser::from_token|token_version"),
    ("command: aggregate load + event append (cqrs-es, postgres-es)", r"CqrsFramework<.*>::execute_with_metadata|CommandBus::run"),
    ("read-your-writes: wait for the projection, read the message back", r"await_projection|read_back_post|last_of_aggregate|zync::read::messages::get|runner::\{impl#\d+\}::wait_for"),
    ("projection: feed read, fold, COPY, checkpoint", r"projections::runner|projections::projectors|projections::copy"),
    ("live feed: read, enrich, publish to topics", r"zync::live::hub::tail|zync::live::enrich"),
    ("fan-out: WebSocket sessions and writers", r"zync::ws::"),
    ("sqlx: pings of connections returned to the pool", r"return_to_pool"),
    ("HTTP: hyper, middleware, routing, JSON", r"hyper::|axum::|tower_http::|tower::"),
]
RUNTIME = "runtime: scheduler, timers, idle polls, other"


def samples(lines):
    stack = []
    for line in lines:
        if not line.strip():
            if stack:
                yield stack
            stack = []
        elif line.startswith("\t") or line.startswith(" "):
            stack.append(line.strip())
        # the header line of a sample starts at column 0; its frames follow
    if stack:
        yield stack


def main():
    per_message = float(sys.argv[1]) if len(sys.argv) > 1 else None
    patterns = [(name, re.compile(p)) for name, p in STAGES]
    counts = {name: 0 for name, _ in STAGES}
    counts[RUNTIME] = 0
    total = 0
    for stack in samples(sys.stdin):
        total += 1
        joined = "\n".join(stack)
        for name, pattern in patterns:
            if pattern.search(joined):
                counts[name] += 1
                break
        else:
            counts[RUNTIME] += 1
    if total == 0:
        sys.exit("no samples")
    header = "| Stage | Share of server CPU |" + (" µs per message |" if per_message else "")
    print(header)
    print("|---|---:|" + ("---:|" if per_message else ""))
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        share = n / total
        row = f"| {name} | {share:6.1%} |"
        if per_message:
            row += f" {share * per_message:.0f} |"
        print(row)
    print(f"\n{total} samples")


if __name__ == "__main__":
    main()
