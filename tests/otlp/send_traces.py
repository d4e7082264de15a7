#!/usr/bin/env python3
"""Sends Medusa-shaped request traces with the real OpenTelemetry Python SDK.

Each trace is one `POST /store/carts/:id/complete` request as Medusa emits
it: a root span of kind INTERNAL (no SERVER span) with `http.route`,
`http.method`, `http.status_code`, the raw `http.url` (with an id) and every
request header as `http.request.header.*` (including a secret bearer token
and an e-mail address), and `--queries` child spans `pg.query:SELECT medusa`
(kind CLIENT, `db.system=postgresql`, `db.statement` with literal values),
plus one `step:reserve-inventory:invoke` span. Times are explicit, so the
durations are exact: the root lasts `--duration-ms`, each query
`--query-ms`, the step `--step-ms`.

`--route`, `--method` and `--statement` change the route and the SQL the
query spans carry (a test that joins spans with pg_stat_statements sends a
statement it also runs).

The secrets it sends are printed as JSON on stdout (one line) so a test can
check that none of them reaches Headroom's storage or logs.

Needs: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc
Usage: send_traces.py --endpoint http://127.0.0.1:14317 [--requests 20]
       [--processor simple|batch] [--duration-ms 120] [--queries 3]
       [--query-ms 2] [--route /store/…] [--method POST] [--statement SQL]
"""
import argparse
import json
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

ROUTE = "/store/carts/:id/complete"
SECRETS = {
    "token": "sk_live_SECRETTOKEN0123456789",
    "email": "jane.secret.doe@example.com",
    "cart_id": "cart_01JSECRETCARTIDXYZ",
    "sql_literal": "LITERAL_7f3a9c",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--processor", choices=["simple", "batch"], default="simple")
    parser.add_argument("--duration-ms", type=float, default=120.0)
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--query-ms", type=float, default=2.0)
    parser.add_argument("--step-ms", type=float, default=7.0)
    parser.add_argument("--route", default=ROUTE)
    parser.add_argument("--method", default="POST")
    parser.add_argument(
        "--statement",
        default="SELECT * FROM customer WHERE email = '"
        + SECRETS["email"]
        + "' AND token = '"
        + SECRETS["sql_literal"]
        + "'",
    )
    args = parser.parse_args()

    exporter = OTLPSpanExporter(endpoint=args.endpoint, insecure=True)
    processor = (
        SimpleSpanProcessor(exporter)
        if args.processor == "simple"
        else BatchSpanProcessor(exporter, schedule_delay_millis=200)
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "medusa", "service.version": "2.21.2"})
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("@medusajs/framework")

    for _ in range(args.requests):
        start = time.time_ns()
        end = start + int(args.duration_ms * 1e6)
        root = tracer.start_span(
            args.route,
            kind=trace.SpanKind.INTERNAL,
            start_time=start,
            attributes={
                "http.route": args.route,
                "http.method": args.method,
                "http.url": f"http://127.0.0.1:9000/store/carts/{SECRETS['cart_id']}/complete",
                "http.status_code": 200,
                "http.request.header.authorization": f"Bearer {SECRETS['token']}",
                "http.request.header.x-publishable-api-key": f"pk_{SECRETS['token']}",
                "http.request.header.cookie": f"connect.sid={SECRETS['token']}",
                "http.request.header.x-customer-email": SECRETS["email"],
            },
        )
        context = trace.set_span_in_context(root)
        at = start + 1_000_000
        for _ in range(args.queries):
            query = tracer.start_span(
                "pg.query:SELECT medusa",
                context=context,
                kind=trace.SpanKind.CLIENT,
                start_time=at,
                attributes={
                    "db.system": "postgresql",
                    "db.name": "medusa",
                    "db.statement": args.statement,
                },
            )
            at += int(args.query_ms * 1e6)
            query.end(end_time=at)
        step = tracer.start_span(
            "step:reserve-inventory:invoke", context=context, start_time=at
        )
        step.end(end_time=at + int(args.step_ms * 1e6))
        root.end(end_time=end)

    provider.force_flush()
    provider.shutdown()
    print(json.dumps(SECRETS))


if __name__ == "__main__":
    main()
