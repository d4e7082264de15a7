#!/usr/bin/env python3
"""Sends HTTP server metrics with the real OpenTelemetry Python SDK.

Records `--requests` values of `--duration-ms` into the semantic-convention
histogram `http.server.request.duration` (unit `s`, the conventions' bucket
bounds, attributes `http.route`, `http.request.method`,
`http.response.status_code`, plus a `url.full` holding a secret that must
never be kept), exporting after each half so a cumulative stream is sent
twice; sets `http.server.active_requests` to 2; and sends one metric the
agent ignores. The exporter uses the SDK's default (cumulative) temporality.

Needs: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc
Usage: send_metrics.py --endpoint http://127.0.0.1:14317 [--requests 10]
"""
import argparse
import json

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

ROUTE = "/store/products/:id"
SECRET = "sk_live_METRICSECRET42"
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--duration-ms", type=float, default=120.0)
    args = parser.parse_args()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=args.endpoint, insecure=True),
        export_interval_millis=3_600_000,
    )
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("@medusajs/framework")
    duration = meter.create_histogram(
        "http.server.request.duration",
        unit="s",
        explicit_bucket_boundaries_advisory=BOUNDS,
    )
    active = meter.create_up_down_counter("http.server.active_requests", unit="{request}")
    ignored = meter.create_counter("process.runtime.gc.count")
    attributes = {
        "http.route": ROUTE,
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "url.full": f"http://127.0.0.1:9000/store/products/prod_1?token={SECRET}",
    }
    active.add(2)
    ignored.add(1)
    first = args.requests // 2
    for index in range(args.requests):
        duration.record(args.duration_ms / 1000.0, attributes)
        if index + 1 == first:
            provider.force_flush()
    provider.force_flush()
    provider.shutdown()
    print(json.dumps({"token": SECRET}))


if __name__ == "__main__":
    main()
