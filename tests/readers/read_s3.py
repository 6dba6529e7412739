#!/usr/bin/env python3
"""Reads back what the S3 sink wrote, with readers no one here wrote:
boto3 lists and fetches the objects; JSON lines are parsed by the standard
library, Avro container files by fastavro, Parquet files by pyarrow and
again by DuckDB (which must agree).

    read_s3.py --endpoint URL --bucket B [--prefix P]
    read_s3.py --endpoint URL --bucket B --create

Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON
document: {"objects": [{"key", "size", "records": [...], "schema"?}, ...]}
in key order. Values that JSON cannot hold are tagged: bytes as
{"$bytes": base64}, decimals as {"$decimal": "1.50"}, dates, times and
timestamps as {"$date"|"$time"|"$timestamp": ISO text}.
"""

import argparse
import base64
import datetime
import decimal
import gzip
import io
import json
import sys
import urllib.parse

import boto3


def plain(v):
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode()}
    if isinstance(v, decimal.Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return {"$timestamp": v.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")}
    if isinstance(v, datetime.date):
        return {"$date": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"$time": v.isoformat(timespec="milliseconds")}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def json_lines(data: bytes):
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line != ""]


def avro(data: bytes):
    import fastavro
    reader = fastavro.reader(io.BytesIO(data))
    schema = reader.writer_schema
    return [plain(r) for r in reader], {
        "avro": schema,
        "codec": reader.codec,
        "text": reader.metadata["avro.schema"],
    }


def comparable(v):
    """For comparing two readers: decimals as floats (DuckDB reads a
    decimal wider than 38 digits as DOUBLE), everything else as is."""
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, dict):
        return {k: comparable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [comparable(x) for x in v]
    return v


def parquet(data: bytes, key: str):
    import os
    import tempfile

    import duckdb
    import pyarrow.parquet as pq
    f = pq.ParquetFile(io.BytesIO(data))
    table = f.read()
    raw = table.to_pylist(maps_as_pydicts="strict")
    meta = f.metadata
    # DuckDB reads the same bytes on its own; both readers must agree.
    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as out:
        out.write(data)
        path = out.name
    try:
        cur = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')")
        names = [d[0] for d in cur.description]
        duck = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        os.unlink(path)
    if plain(comparable(duck)) != plain(comparable(raw)):
        raise SystemExit(f"{key}: DuckDB reads {plain(duck)[:2]}..., pyarrow {plain(raw)[:2]}...")
    kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}
    info = {
        "parquet": str(f.schema),
        "arrow": str(f.schema_arrow),
        "row_groups": meta.num_row_groups,
        "codec": meta.row_group(0).column(0).compression if meta.num_row_groups and meta.num_columns else None,
        "avro": kv.get("parquet.avro.schema"),
    }
    return plain(raw), info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--create", action="store_true", help="create the bucket and exit")
    args = ap.parse_args()
    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1")
    if args.create:
        s3.create_bucket(Bucket=args.bucket)
        return
    out = []
    # EncodingType asked for explicitly, so botocore leaves the keys as
    # sent; decoded here without turning "+" into a space (s3s-fs sends
    # keys unencoded even when asked to encode them, and botocore's own
    # decoding would read the "+" of Confluent's names as spaces).
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=args.bucket, Prefix=args.prefix, EncodingType="url")
    for page in pages:
        for o in page.get("Contents", []):
            key = urllib.parse.unquote(o["Key"])
            data = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
            doc = {"key": key, "size": o["Size"]}
            if key.endswith(".gz"):
                data = gzip.decompress(data)
            name = key[:-3] if key.endswith(".gz") else key
            if name.endswith(".json"):
                doc["records"] = json_lines(data)
            elif name.endswith(".avro"):
                doc["records"], doc["schema"] = avro(data)
            elif name.endswith(".parquet"):
                doc["records"], doc["schema"] = parquet(data, key)
            else:
                doc["records"] = [{"$bytes": base64.b64encode(data).decode()}]
            out.append(doc)
    json.dump({"objects": out}, sys.stdout)


if __name__ == "__main__":
    main()
